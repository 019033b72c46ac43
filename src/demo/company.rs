//! The demo company: 25 departments in a tree, employees with names, locations and hire
//! dates, and a head for every department. Written as the two CSV files `icsat roster
//! import` reads, so the demo loads them through the real import.

use std::fmt::Write as _;

use rand::rngs::StdRng;
use rand::Rng;

/// The domain of every demo address (`.example` is reserved: mail to it goes nowhere).
pub const DOMAIN: &str = "demo.example";

/// The HR admin's account.
pub const ADMIN_EMAIL: &str = "admin@demo.example";

/// The department whose head the demo prints a sign-in link for: its subtree holds a
/// department too small to be shown.
pub const HEAD_DEPARTMENT: &str = "Finance & Administration";

/// A department: name, parent, share of the headcount, and how it differs from the
/// others (response rate, how its people rate services and working here).
pub struct DepartmentPlan {
    pub name: &'static str,
    pub parent: Option<&'static str>,
    /// Relative headcount.
    pub weight: f64,
    /// Added to the base response rate.
    pub rate: f64,
    /// Added to every answer's latent score (1..5 scale units).
    pub mood: f64,
}

const fn d(
    name: &'static str,
    parent: Option<&'static str>,
    weight: f64,
    rate: f64,
    mood: f64,
) -> DepartmentPlan {
    DepartmentPlan {
        name,
        parent,
        weight,
        rate,
        mood,
    }
}

/// 25 departments. Divisions have no members of their own (their heads sit in Company),
/// so no tiny direct group forces others to be hidden. Legal is too small to be shown in
/// any wave, Key Accounts and Payroll in some, and a sibling of a hidden department is
/// sometimes hidden with it (its figures could be worked out by difference).
pub const DEPARTMENTS: [DepartmentPlan; 25] = [
    d("Company", None, 4.0, 0.10, 0.30),
    d("Operations", Some("Company"), 0.0, 0.0, 0.0),
    d("Logistics", Some("Operations"), 60.0, -0.12, -0.15),
    d("Manufacturing", Some("Operations"), 0.0, 0.0, 0.0),
    d(
        "Manufacturing North",
        Some("Manufacturing"),
        85.0,
        -0.20,
        -0.30,
    ),
    d(
        "Manufacturing South",
        Some("Manufacturing"),
        70.0,
        -0.15,
        0.05,
    ),
    d("Quality", Some("Operations"), 25.0, 0.05, 0.10),
    d("Sales", Some("Company"), 0.0, 0.0, 0.0),
    d("Sales North", Some("Sales"), 45.0, -0.05, 0.25),
    d("Sales South", Some("Sales"), 40.0, -0.10, -0.20),
    d("Key Accounts", Some("Sales"), 8.0, 0.0, 0.35),
    d("Customer Service", Some("Sales"), 50.0, 0.00, -0.35),
    d("Technology", Some("Company"), 0.0, 0.0, 0.0),
    d("IT", Some("Technology"), 30.0, 0.15, 0.25),
    d("Software Development", Some("Technology"), 55.0, 0.10, 0.30),
    d("Data & Analytics", Some("Technology"), 14.0, 0.05, 0.20),
    d("Finance & Administration", Some("Company"), 0.0, 0.0, 0.0),
    d(
        "Finance",
        Some("Finance & Administration"),
        20.0,
        0.12,
        0.05,
    ),
    d("Payroll", Some("Finance & Administration"), 8.0, 0.10, 0.10),
    d(
        "Procurement",
        Some("Finance & Administration"),
        10.0,
        0.05,
        -0.10,
    ),
    d(
        "Facilities",
        Some("Finance & Administration"),
        18.0,
        -0.05,
        -0.05,
    ),
    d("Legal", Some("Finance & Administration"), 4.0, 0.00, 0.15),
    d("People", Some("Company"), 0.0, 0.0, 0.0),
    d("HR", Some("People"), 16.0, 0.15, 0.20),
    d("Marketing", Some("Company"), 24.0, 0.05, 0.15),
];

const FIRST: [&str; 40] = [
    "Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hannes", "Ida", "Jonas", "Karla",
    "Luca", "Mia", "Noah", "Olga", "Paul", "Quynh", "Rosa", "Samir", "Tara", "Uwe", "Vera",
    "Wiebke", "Xaver", "Yasmin", "Zoe", "Amir", "Birte", "Chen", "Dana", "Emil", "Fatma", "Georg",
    "Hanna", "Ilias", "Jana", "Kofi", "Lena", "Marek", "Nora",
];

const LAST: [&str; 40] = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Braun",
    "Hofmann",
    "Zimmermann",
    "Krüger",
    "Hartmann",
    "Lange",
    "Werner",
    "Lehmann",
    "Krause",
    "Köhler",
    "Yilmaz",
    "Kaya",
    "Nowak",
    "Kowalski",
    "Rossi",
    "Garcia",
    "Nguyen",
    "Popescu",
    "Jansen",
    "Berg",
    "Vogel",
    "Frank",
    "Haas",
];

const LOCATIONS: [(&str, f64); 4] = [
    ("Berlin", 0.4),
    ("Hamburg", 0.25),
    ("Munich", 0.2),
    ("Remote", 0.15),
];

/// One generated employee.
pub struct Person {
    pub email: String,
    /// Index in [`DEPARTMENTS`] of the department they work in.
    pub department: usize,
    /// The department they head, if any.
    pub heads: Option<usize>,
}

/// Headcount per department for about `employees` people: every department with a
/// weight at least one person (its head); divisions none.
pub fn headcounts(employees: usize) -> Vec<usize> {
    let total: f64 = DEPARTMENTS.iter().map(|d| d.weight).sum();
    DEPARTMENTS
        .iter()
        .map(|d| {
            if d.weight == 0.0 {
                0
            } else {
                ((d.weight / total * employees as f64).round() as usize).max(1)
            }
        })
        .collect()
}

fn ascii(name: &str) -> String {
    name.to_lowercase()
        .replace('ü', "ue")
        .replace('ö', "oe")
        .replace('ä', "ae")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

fn pick_location(rng: &mut StdRng) -> &'static str {
    let mut roll: f64 = rng.random();
    for (name, share) in LOCATIONS {
        if roll < share {
            return name;
        }
        roll -= share;
    }
    LOCATIONS[0].0
}

/// The roster and departments files, and who is in which department. The first person
/// of each department is its head.
pub fn files(employees: usize, rng: &mut StdRng) -> (String, String, Vec<Person>) {
    let mut roster =
        String::from("email,name,department,manager_email,location,hire_date,contract\n");
    let mut people = Vec::new();
    let mut heads: Vec<String> = Vec::new();
    let mut serial = 0usize;
    for (index, (plan, count)) in DEPARTMENTS.iter().zip(headcounts(employees)).enumerate() {
        // A division's head is a member of Company, reporting to its head.
        let (home, count) = if count == 0 { (0, 1) } else { (index, count) };
        let mut head = String::new();
        for i in 0..count {
            serial += 1;
            let first = FIRST[rng.random_range(0..FIRST.len())];
            let last = LAST[rng.random_range(0..LAST.len())];
            let email = format!("{}.{}{serial}@{DOMAIN}", ascii(first), ascii(last));
            let manager = if i == 0 {
                // A head reports to the head of the parent department.
                plan.parent
                    .and_then(|p| DEPARTMENTS.iter().position(|d| d.name == p))
                    .and_then(|p| heads.get(p).cloned())
                    .unwrap_or_default()
            } else {
                head.clone()
            };
            let year = 2008 + rng.random_range(0..18);
            let month = rng.random_range(1..=12);
            let day = rng.random_range(1..=28);
            let contract = if rng.random_bool(0.9) {
                "permanent"
            } else {
                "fixed-term"
            };
            let _ = writeln!(
                roster,
                "{email},{first} {last},\"{}\",{manager},{},{year:04}-{month:02}-{day:02},{contract}",
                DEPARTMENTS[home].name,
                pick_location(rng)
            );
            if i == 0 {
                head = email.clone();
            }
            people.push(Person {
                email,
                department: home,
                heads: (i == 0).then_some(index),
            });
        }
        heads.push(head);
    }
    let mut departments = String::from("department,parent,head_email\n");
    for (plan, head) in DEPARTMENTS.iter().zip(&heads) {
        let _ = writeln!(
            departments,
            "\"{}\",\"{}\",{head}",
            plan.name,
            plan.parent.unwrap_or("")
        );
    }
    (roster, departments, people)
}

/// The head of `department` in the generated files.
pub fn head_of<'a>(people: &'a [Person], department: &str) -> Option<&'a str> {
    let index = DEPARTMENTS.iter().position(|d| d.name == department)?;
    people
        .iter()
        .find(|p| p.heads == Some(index))
        .map(|p| p.email.as_str())
}
