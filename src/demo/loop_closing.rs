//! The demo's closed loop: about twenty actions over its three annual surveys, owned by
//! the heads of the service and other departments, with dated updates (IT's done before
//! IT improves; Facilities' dropped before Facilities declines), and the latest annual
//! survey published to employees, one of whose links the demo prints.

use chrono::{DateTime, Duration, Utc};

use super::company::{self, Person};
use super::DemoError;
use crate::actions::{self, Actor, Change, NewAction, Status};
use crate::db::Conn;
use crate::definitions::Definition;

/// The annual survey the loop is closed on.
pub const SURVEY: &str = "internal-services";

/// (answers the wave n, department acting, service, consumers, title, description,
/// what happened after 2 and 6 months, final status)
type Planned = (
    usize,
    &'static str,
    Option<&'static str>,
    &'static [&'static str],
    &'static str,
    &'static str,
    [&'static str; 2],
    Status,
);

const PLANNED: [Planned; 20] = [
    (
        0,
        "IT",
        Some("IT"),
        &[],
        "A chat channel for the service desk",
        "Questions answered in chat during office hours, besides the phone and tickets.",
        [
            "Chat open from 8 to 18; first answer in 4 minutes on average",
            "Chat is now a third of all contacts",
        ],
        Status::Done,
    ),
    (
        0,
        "IT",
        Some("IT"),
        &[],
        "Laptop swaps within one day",
        "A spare-laptop pool at every site.",
        [
            "Pools at the head office and both plants",
            "Swaps take 6 hours on average",
        ],
        Status::Done,
    ),
    (
        0,
        "IT",
        Some("IT"),
        &["Sales"],
        "A Sales queue at the service desk",
        "Field sales get their own queue with a call-back within two hours.",
        [
            "Queue open; two agents trained on the sales tools",
            "Call-back within two hours for 94% of tickets",
        ],
        Status::Done,
    ),
    (
        1,
        "IT",
        Some("IT"),
        &[],
        "Outage notices by text message",
        "Planned changes and outages announced the day before, by text and on the intranet.",
        [
            "Text notices for all planned changes",
            "Unplanned outages announced within 15 minutes",
        ],
        Status::Done,
    ),
    (
        1,
        "IT",
        Some("IT"),
        &[],
        "Self-service password reset",
        "Reset a password from the phone without calling the desk.",
        ["Pilot in Technology", "Rolling out to Operations"],
        Status::InProgress,
    ),
    (
        0,
        "Facilities",
        Some("Facilities"),
        &["Manufacturing North"],
        "Fix the heating in Manufacturing North",
        "Replace the heating in hall 2 before winter.",
        [
            "Quotes collected",
            "Budget moved to the roof repair; dropped for this year",
        ],
        Status::Dropped,
    ),
    (
        1,
        "Facilities",
        Some("Facilities"),
        &[],
        "Weekly cleaning rounds in the plants",
        "A cleaning round every week in both plants.",
        ["Contractor chosen", "Contract not signed; dropped"],
        Status::Dropped,
    ),
    (
        0,
        "HR",
        Some("HR"),
        &[],
        "One HR contact per department",
        "Every department knows the one HR person to ask.",
        [
            "Contacts named and on the intranet",
            "Introduced in every team meeting",
        ],
        Status::Done,
    ),
    (
        1,
        "HR",
        Some("HR"),
        &[],
        "The leave policy in plain language",
        "Rewrite the leave and travel policies, with examples.",
        ["Leave policy rewritten", "Travel policy in review"],
        Status::InProgress,
    ),
    (
        0,
        "Payroll",
        Some("Payroll"),
        &[],
        "Payslips explained",
        "A one-page guide to the payslip and a question hour after each change.",
        ["Guide published", "Question hours held in January and July"],
        Status::Done,
    ),
    (
        1,
        "Finance",
        Some("Finance"),
        &[],
        "Expense claims paid within 10 days",
        "Claims approved in the app and paid in the next payment run.",
        ["App chosen", "Pilot with Sales"],
        Status::InProgress,
    ),
    (
        1,
        "Procurement",
        Some("Procurement"),
        &[],
        "A catalogue for everyday purchases",
        "Order the usual items without a purchase request.",
        ["Items listed with IT and Facilities", "Supplier talks"],
        Status::Planned,
    ),
    (
        0,
        "Sales",
        None,
        &[],
        "A monthly team Q&A with the sales director",
        "Half an hour a month, questions sent in advance.",
        [
            "Held monthly since March",
            "Questions now collected anonymously",
        ],
        Status::Done,
    ),
    (
        1,
        "Manufacturing",
        None,
        &[],
        "Shift handover meetings",
        "Ten minutes between shifts to pass on what happened.",
        ["Started in Manufacturing South", "North from next quarter"],
        Status::InProgress,
    ),
    (
        0,
        "Marketing",
        None,
        &[],
        "A quarterly planning day",
        "One day a quarter to plan campaigns together.",
        ["First day held", "Held every quarter"],
        Status::Done,
    ),
    (
        1,
        "Logistics",
        None,
        &[],
        "A new break room at the warehouse",
        "A break room with a kitchen at the main warehouse.",
        ["Room found", "Waiting for the budget"],
        Status::Planned,
    ),
    (
        1,
        "Customer Service",
        None,
        &[],
        "Coaching hours for new colleagues",
        "Two hours a week with an experienced colleague for the first three months.",
        ["Coaches named", "Running for all new colleagues"],
        Status::InProgress,
    ),
    (
        0,
        "Software Development",
        None,
        &[],
        "Focus Fridays",
        "No meetings on Friday mornings.",
        ["Agreed with the product owners", "Kept since April"],
        Status::Done,
    ),
    (
        1,
        "HR",
        None,
        &[],
        "Onboarding buddies",
        "Every newcomer gets a buddy from another team.",
        [
            "Buddies found for all newcomers",
            "Newcomers rate it 4.6 of 5",
        ],
        Status::Done,
    ),
    (
        0,
        "Operations",
        None,
        &[],
        "A safety walk with the plant manager",
        "Every month, with a different team.",
        ["First walks done", "Monthly since May"],
        Status::Done,
    ),
];

/// Records the planned actions against the annual survey's waves (`waves`: labels and
/// closing times, oldest first) and publishes the latest; returns how many actions, and
/// an employee's link to the published results.
pub fn close_the_loop(
    conn: &mut Conn,
    people: &[Person],
    definition: &Definition,
    waves: &[(String, DateTime<Utc>)],
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<(usize, Option<String>), DemoError> {
    let mut made = 0;
    for (wave, department, service, consumers, title, description, updates, status) in PLANNED {
        let Some((label, closed)) = waves.get(wave) else {
            continue;
        };
        let Some(head) = company::head_of(people, department) else {
            continue;
        };
        let Some(user) =
            crate::auth::user_by_email(conn, head).map_err(|e| DemoError::Files(e.to_string()))?
        else {
            continue;
        };
        let actor = Actor {
            email: user.email.clone(),
            rights: user.rights(),
        };
        let created = *closed + Duration::days(30);
        if created > now {
            continue;
        }
        let new = NewAction {
            survey: SURVEY.to_string(),
            wave: Some(label.clone()),
            title: title.to_string(),
            description: description.to_string(),
            owner: None,
            department: None,
            service: service.map(str::to_string),
            questions: Vec::new(),
            consumers: consumers.iter().map(|c| c.to_string()).collect(),
            due_on: Some((created + Duration::days(180)).date_naive()),
            status: Some(Status::Planned),
        };
        let id = actions::add(conn, definition, &actor, &new, created.naive_utc())?;
        for (months, note) in [(2, updates[0]), (6, updates[1])] {
            let at = created + Duration::days(30 * months);
            if at > now {
                break;
            }
            let step = if months == 6 {
                status
            } else {
                Status::InProgress
            };
            let change = Change {
                status: Some(step),
                note: note.to_string(),
                due_on: None,
            };
            actions::update(conn, id, &actor, &change, at.naive_utc())?;
        }
        made += 1;
    }
    // The latest annual survey, published for its employees to read.
    let Some((label, _)) = waves.last() else {
        return Ok((made, None));
    };
    let Some(survey_id) = crate::waves::survey_id(conn, SURVEY)? else {
        return Ok((made, None));
    };
    let Some(wave) = crate::waves::find(conn, survey_id, label)? else {
        return Ok((made, None));
    };
    let at = now.naive_utc();
    crate::publishing::publish(
        conn,
        &wave,
        "demo",
        crate::publishing::DEFAULT_SHARING_DAYS,
        at,
    )?;
    let department = crate::reports::org::Org::load(conn)?
        .by_name("Manufacturing South")
        .map(|d| d.id);
    let link = match department {
        Some(d) => Some(format!(
            "{base_url}/heard/{}",
            crate::publishing::new_link(conn, wave.id, d, at)?
        )),
        None => None,
    };
    Ok((made, link))
}
