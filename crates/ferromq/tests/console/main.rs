//! Web console suite: the real `ferromq` binary with its console on a free port, driven
//! over HTTP like a browser (login form, session cookie, CSRF tokens) and like a script
//! (HTTP Basic auth on the JSON API, ActiveMQ's `/api/message`, `/metrics`), and end to
//! end in headless Chromium.

mod api;
mod auth;
mod chromium;
mod cluster;
mod connections;
mod http;
mod pages;
mod rest;
mod topics;
mod webdriver;
