//! Ferry's own series of the mailboxes between stages (DM has none): how much each holds and
//! may hold, in messages and in bytes, read at each scrape.
//!
//! | series | labels |
//! |---|---|
//! | `ferry_mailbox_depth_messages`, `ferry_mailbox_depth_bytes` | mailbox, task, source_id |
//! | `ferry_mailbox_capacity_messages`, `ferry_mailbox_capacity_bytes` | mailbox, task, source_id |
//!
//! A stage fed by several mailboxes of one name (the writers' `writer-shares`) is shown as
//! their sum. The relay writer's buffer of a source is `mailbox="relay-events"` without a
//! `task` label.

use crate::mailbox::{Outbox, Weigh};

/// A reader of how full one mailbox is: (messages, bytes), `None` once closed.
pub type FillFn = Box<dyn Fn() -> Option<(usize, usize)> + Send + Sync>;

/// Shows mailboxes `fills` (each with its capacity `(messages, bytes)`) as the mailbox
/// `name` with `labels`, at each scrape while one of them is open.
pub fn watch_fills(
    name: &str,
    labels: &[(&'static str, String)],
    fills: Vec<(FillFn, (usize, usize))>,
) {
    let mut l = vec![("mailbox", name.to_string())];
    l.extend(labels.iter().cloned());
    let depth_m = ::metrics::gauge!("ferry_mailbox_depth_messages", &l);
    let depth_b = ::metrics::gauge!("ferry_mailbox_depth_bytes", &l);
    let cap_m = ::metrics::gauge!("ferry_mailbox_capacity_messages", &l);
    let cap_b = ::metrics::gauge!("ferry_mailbox_capacity_bytes", &l);
    let publish = move || {
        let mut open = false;
        let (mut dm, mut db, mut cm, mut cb) = (0usize, 0usize, 0usize, 0usize);
        for (fill, (m, b)) in &fills {
            if let Some((qm, qb)) = fill() {
                open = true;
                dm += qm;
                db += qb;
                cm += m;
                cb += b;
            }
        }
        if open {
            depth_m.set(dm as f64);
            depth_b.set(db as f64);
            cap_m.set(cm as f64);
            cap_b.set(cb as f64);
        }
        open
    };
    publish();
    super::probe::register(publish);
}

/// Shows the mailboxes `outboxes` (one stage's inboxes) as the mailbox of their name, with
/// `task` and `source_id`.
pub fn watch<T: Weigh + Send + 'static>(task: &str, source: &str, outboxes: &[&Outbox<T>]) {
    let Some(first) = outboxes.first() else {
        return;
    };
    let fills = outboxes
        .iter()
        .map(|o| (Box::new(o.fill_probe()) as FillFn, o.capacity()))
        .collect();
    watch_fills(first.name(), &super::task_labels(task, source), fills);
}

pub(super) fn describe() {
    ::metrics::describe_gauge!(
        "ferry_mailbox_depth_messages",
        "messages queued in a mailbox between two stages"
    );
    ::metrics::describe_gauge!(
        "ferry_mailbox_depth_bytes",
        "estimated bytes of the messages queued in a mailbox between two stages"
    );
    ::metrics::describe_gauge!(
        "ferry_mailbox_capacity_messages",
        "most messages a mailbox between two stages holds (its count bound)"
    );
    ::metrics::describe_gauge!(
        "ferry_mailbox_capacity_bytes",
        "most bytes of messages a mailbox between two stages holds (its byte bound)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::tests::Msg;
    use crate::mailbox::{mailbox, Bounds};

    #[tokio::test]
    async fn a_watched_stage_is_published_until_its_mailboxes_close() {
        let (a, _ra) = mailbox::<Msg>("w", Bounds::new(1, 100));
        let (b, rb) = mailbox::<Msg>("w", Bounds::new(1, 100));
        watch("t", "s", &[&a, &b]);
        super::super::probe::publish();
        a.send(Msg(10)).await.unwrap();
        let fills: Vec<(FillFn, (usize, usize))> = vec![
            (Box::new(a.fill_probe()), a.capacity()),
            (Box::new(b.fill_probe()), b.capacity()),
        ];
        let sum: (usize, usize) = fills
            .iter()
            .filter_map(|(f, _)| f())
            .fold((0, 0), |s, (m, b)| (s.0 + m, s.1 + b));
        assert_eq!(sum, (1, 10));
        drop(rb);
        assert_eq!((fills[1].0)(), None);
    }
}
