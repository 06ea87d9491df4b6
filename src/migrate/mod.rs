//! `nbkf migrate`: many notebooks converted in one batch, with a report of the batch.

pub mod html;
