mod inputs;
mod properties;
mod reference;
mod release;
mod report_json;
mod suppression;
mod views;
