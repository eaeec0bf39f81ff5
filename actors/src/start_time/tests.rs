use super::*;

#[test]
fn parses_dm_forms_in_the_upstream_zone_or_their_own() {
    // 2021-10-21 00:01:00 UTC = 1634774460.
    let t = StartTime::parse("2021-10-21 00:01:00").unwrap();
    assert_eq!(t.offset, None);
    assert_eq!(t.unix(0), 1_634_774_460);
    // Read in an upstream at +08:00: eight hours earlier in UTC.
    assert_eq!(t.unix(8 * 3600), 1_634_774_460 - 8 * 3600);
    assert_eq!(StartTime::parse("2021-10-21T00:01:00").unwrap(), t);
    for (text, offset) in [
        ("2021-10-21T00:01:00Z", 0),
        ("2021-10-21 00:01:00+08:00", 8 * 3600),
        ("2021-10-21T00:01:00+0800", 8 * 3600),
        ("2021-10-21T00:01:00-05:30", -(5 * 3600 + 30 * 60)),
    ] {
        let p = StartTime::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(p.offset, Some(offset), "{text}");
        // An explicit offset wins over the upstream's.
        assert_eq!(p.unix(3600), 1_634_774_460 - i64::from(offset), "{text}");
    }
    assert_eq!(StartTime::parse("1970-01-01 00:00:00").unwrap().unix(0), 0);
    assert_eq!(
        StartTime::parse("2024-02-29 12:00:00").unwrap().unix(0),
        1_709_208_000
    );
}

#[test]
fn refuses_other_forms_naming_the_value() {
    for bad in [
        "15:04:05",
        "2006/01/02 15:04:05",
        "20060102 150405",
        "2006-01-02",
        "2006-01-02 15:04:05.123",
        "2006-13-02 15:04:05",
        "2023-02-29 15:04:05",
        "2006-01-02 24:00:00",
        "2006-01-02 15:04:05+8",
        "2006-01-02 15:04:05 +08:00",
        "2006-01-02x15:04:05",
    ] {
        let e = StartTime::parse(bad).expect_err(bad);
        assert!(e.contains(bad), "{e}");
        assert!(e.contains("'2006-01-02 15:04:05'"), "{e}");
    }
}

#[test]
fn chooses_the_last_file_starting_before_the_time() {
    let firsts = [100u32, 200, 300, 400];
    let pick = |target: u32| {
        let mut asked = Vec::new();
        let c = choose_file::<()>(firsts.len(), target, |i| {
            asked.push(i);
            Ok(firsts[i])
        })
        .unwrap()
        .unwrap();
        assert!(asked.len() <= 3, "binary search: {asked:?}");
        c
    };
    let at = |index, before_first| FileChoice {
        index,
        before_first,
    };
    assert_eq!(pick(50), at(0, true));
    assert_eq!(pick(100), at(0, true));
    assert_eq!(pick(101), at(0, false));
    assert_eq!(
        pick(200),
        at(0, false),
        "a file starting at the time: scan the one before"
    );
    assert_eq!(pick(250), at(1, false));
    assert_eq!(pick(999), at(3, false));
    assert_eq!(choose_file::<()>(0, 5, |_| Ok(0)).unwrap(), None);
    assert_eq!(
        choose_file(3, 5, |_| Err("no access")).unwrap_err(),
        "no access"
    );
}

#[test]
fn boundary_scan_without_gtids() {
    use ScanEvent::*;
    let mut s = BoundaryScan::new(10);
    // A transaction that began before the time, committed after it: not a start.
    assert!(!s.is_start(Begin, 9));
    assert!(!s.is_start(Other, 11));
    assert!(!s.is_start(Commit, 11));
    // A DDL after the time, outside a transaction.
    assert!(s.is_start(Statement, 10));
    let mut s = BoundaryScan::new(10);
    assert!(!s.is_start(Begin, 9));
    // A statement inside a transaction is not a start.
    assert!(!s.is_start(Statement, 12));
    assert!(!s.is_start(Commit, 12));
    assert!(s.is_start(Begin, 12));
}

#[test]
fn boundary_scan_with_gtids_uses_the_gtid_event() {
    use ScanEvent::*;
    let mut s = BoundaryScan::new(10);
    assert!(!s.is_start(Other, 20), "format description");
    assert!(!s.is_start(Gtid, 9));
    assert!(!s.is_start(Begin, 9));
    assert!(!s.is_start(Commit, 9));
    // Once GTIDs are seen, a BEGIN or a DDL query is inside its GTID's group.
    let mut after = s.clone();
    assert!(!after.is_start(Statement, 11));
    assert!(!after.is_start(Begin, 11));
    assert!(s.is_start(Gtid, 10));
}

#[test]
fn too_late_is_dms_message() {
    assert_eq!(
        too_late("2099-01-01 00:00:00"),
        "start-time 2099-01-01 00:00:00 is too late, no binlog location matches it"
    );
}
