//! icsat: internal customer satisfaction surveys (internal services and eNPS), self-hosted.
//!
//! Modules follow the domain: survey `definitions` (pure parsing and validation) and the
//! `surveys` catalogue that stores their versions, the `roster` of employees, `db`
//! storage on SQLite or PostgreSQL, `stats` (pure statistics), the `web` service and the
//! `cli`.

// A build with one backend matches on a connection enum of one variant and leaves the
// other backend's helpers unused; the full build (CI's clippy) keeps both lints.
#![cfg_attr(
    not(all(feature = "sqlite", feature = "postgres")),
    allow(irrefutable_let_patterns, dead_code)
)]

pub mod actions;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod config;
pub mod db;
pub mod definitions;
pub mod demo;
pub mod error;
pub mod exports;
pub mod files;
pub mod i18n;
pub mod mail;
pub mod metrics;
pub mod nudges;
pub mod publishing;
pub mod reports;
pub mod responses;
pub mod retention;
pub mod roster;
pub mod services;
pub mod stats;
pub mod surveys;
pub mod users;
pub mod waves;
pub mod web;
