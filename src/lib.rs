//! icsat: internal customer satisfaction surveys (internal services and eNPS), self-hosted.
//!
//! Modules follow the domain: survey `definitions` (pure parsing and validation) and the
//! `surveys` catalogue that stores their versions, the `roster` of employees, `db`
//! storage on SQLite or PostgreSQL, `stats` (pure statistics), the `web` service and the
//! `cli`.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod definitions;
pub mod demo;
pub mod error;
pub mod exports;
pub mod mail;
pub mod metrics;
pub mod reports;
pub mod responses;
pub mod roster;
pub mod stats;
pub mod surveys;
pub mod users;
pub mod waves;
pub mod web;
