//! File dialogs (rfd) on a short-lived thread of their own, so the console keeps drawing while
//! the dialog is open. The chosen path comes back as an [`Outcome::Picked`]. Without an XDG
//! desktop portal or zenity, rfd returns nothing: every place that offers Browse also takes a
//! typed path (and dropped files).

use super::actions::PickTarget;
use super::jobs::Outcome;
use super::worker::Waker;
use std::sync::mpsc::Sender;

/// Opens an open dialog, or a save dialog proposing `file_name`.
pub fn pick(target: PickTarget, save: bool, file_name: String, tx: Sender<Outcome>, waker: Waker) {
    // If no thread can be started there is no dialog; the typed path remains.
    let _ = std::thread::Builder::new()
        .name("mailflow-file-dialog".into())
        .spawn(move || {
            let dialog = rfd::FileDialog::new();
            let path = if save {
                dialog.set_file_name(&file_name).save_file()
            } else {
                dialog.pick_file()
            };
            let _ = tx.send(Outcome::Picked { target, path });
            waker();
        });
}
