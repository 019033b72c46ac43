//! Integration tests: the real binary and server, on SQLite and on PostgreSQL.

mod common;

mod access;
mod admin;
mod anonymity;
mod anonymity_storage;
mod answering;
mod audit;
mod backup;
mod browser;
mod cli;
mod closing;
mod delivery;
mod demo;
mod eml;
mod export;
mod feedback;
mod languages;
mod mail;
mod measures;
mod nudges;
mod operations;
mod reports;
mod responses;
mod retention;
mod roster;
mod security;
mod serve;
mod services;
mod signin;
mod survey;
mod waves;
