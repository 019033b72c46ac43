//! Integration tests: the real binary and server, on SQLite and on PostgreSQL.

mod common;

mod answering;
mod browser;
mod cli;
mod delivery;
mod demo;
mod export;
mod mail;
mod reports;
mod responses;
mod roster;
mod serve;
mod survey;
mod waves;
