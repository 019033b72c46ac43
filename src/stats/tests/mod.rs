mod inputs;
mod properties;
mod reference;
mod report_json;
mod suppression;
mod views;
