//! The dashboard's HTML pages, driven through the router as a browser would: signed in with the
//! sign-in form, in Russian and English, limited to the account's offices.

mod actions;
mod pages;
#[path = "../common/seed.rs"]
mod seed;
