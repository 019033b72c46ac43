// The migrations are embedded in the binary: rebuild it when they change.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
