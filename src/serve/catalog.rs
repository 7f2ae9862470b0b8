//! STUB until the catalog branch lands: the served runbooks.

use std::path::PathBuf;
use std::sync::Arc;

use crate::runbook::Runbook;
use crate::serve::scheduler::Scheduled;
use crate::template::Redactor;

#[derive(Debug)]
pub struct Entry {
    pub name: String,
    pub path: PathBuf,
    pub title: Option<String>,
    pub runbook: Arc<Runbook>,
    pub source: Arc<str>,
    pub html: String,
    pub checks: Vec<Scheduled>,
    pub redactor: Redactor,
}

#[derive(Debug, Clone)]
pub struct Problem {
    pub path: PathBuf,
    pub message: String,
    pub kept_previous: bool,
}

#[derive(Debug, Default)]
pub struct Catalog {
    pub entries: Vec<Arc<Entry>>,
    pub problems: Vec<Problem>,
}

impl Catalog {
    pub fn get(&self, name: &str) -> Option<&Arc<Entry>> {
        self.entries.iter().find(|entry| entry.name == name)
    }
}
