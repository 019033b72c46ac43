//! Responses: answers as stored. In an anonymous survey a response carries a random id,
//! the respondent's department and reporting attributes as they were, and nothing that
//! leads back to a person or a moment.

pub mod import;
pub mod inbox;
pub mod store;
pub mod submit;

/// One stored answer: a number (likert, rating, enps, nps), an option's index (choice,
/// one row per chosen option), or a comment (text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerValue {
    pub question_id: String,
    pub ordinal: i32,
    pub value: Option<i32>,
    pub text: Option<String>,
}

/// A response ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewResponse {
    pub department_id: Option<i64>,
    /// JSON object of the reporting attributes, as they were when answering.
    pub attributes: String,
    /// Set only in confidential surveys.
    pub employee_id: Option<i64>,
    pub answers: Vec<AnswerValue>,
}
