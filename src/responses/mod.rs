//! Responses: answers as stored. In an anonymous survey a response carries a random id,
//! the respondent's department and the dimensions its definition declares (`report_by`),
//! and nothing that leads back to a person or a moment. When its wave closes, department
//! and dimensions are generalised until every combination stored is shared by at least
//! `min_group_size` responses (`generalise`).

#[cfg(feature = "postgres")]
pub mod batched;
pub mod dimensions;
pub mod generalise;
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
    /// JSON object of the declared dimensions (`report_by`), as they were when answering.
    pub attributes: String,
    /// Set only in confidential surveys.
    pub employee_id: Option<i64>,
    pub answers: Vec<AnswerValue>,
}
