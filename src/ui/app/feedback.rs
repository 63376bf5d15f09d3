//! What each form of the console says back: working (with a spinner), done, or failed with the
//! validation problems at its fields. One entry per [`Form`]; a new request replaces the
//! previous answer.

use super::actions::Form;
use super::jobs::Failure;
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq)]
pub enum Feedback {
    Working(String),
    Success(String),
    /// Neutral information (nothing was chosen, nothing to do).
    Info(String),
    Error(Failure),
}

/// The feedback of every form.
#[derive(Default, Debug)]
pub struct Feedbacks {
    map: HashMap<Form, Feedback>,
}

impl Feedbacks {
    pub fn get(&self, form: Form) -> Option<&Feedback> {
        self.map.get(&form)
    }

    pub fn set(&mut self, form: Form, fb: Feedback) {
        self.map.insert(form, fb);
    }

    pub fn working(&mut self, form: Form, text: impl Into<String>) {
        self.map.insert(form, Feedback::Working(text.into()));
    }

    pub fn clear(&mut self, form: Form) {
        self.map.remove(&form);
    }

    pub fn is_working(&self, form: Form) -> bool {
        matches!(self.map.get(&form), Some(Feedback::Working(_)))
    }

    /// Messages of the validation problems of `form` at `path` (or below it).
    pub fn problems_at(&self, form: Form, path: &str) -> Vec<String> {
        match self.map.get(&form) {
            Some(Feedback::Error(f)) => f
                .problems
                .as_ref()
                .map(|p| p.at(path).map(|p| p.message.clone()).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Problems of `form` at exactly `path` (not below it).
    pub fn problems_exact(&self, form: Form, path: &str) -> Vec<String> {
        match self.map.get(&form) {
            Some(Feedback::Error(f)) => f
                .problems
                .as_ref()
                .map(|p| {
                    p.0.iter()
                        .filter(|p| p.path == path)
                        .map(|p| p.message.clone())
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}
