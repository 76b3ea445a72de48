//! GuardDuty-style detections: rules in the policy language over log records,
//! with threat lists, event-time windows and GuardDuty-shaped findings. Log
//! parsing is in `load::logs`; this module evaluates detections over records.

pub mod engine;
pub mod finding;
pub mod lists;
pub mod run;
pub mod spill;
pub mod window;
