//! The four files of DM's Aurora migration guide, copied verbatim, must load.

mod common;

use common::*;
use ferry_config::extra_args::Consistency;
use ferry_config::{parse_source_str, parse_task_str, ErrorKind, FileKind, TaskMode};

#[test]
fn source1_loads_with_placeholders_from_env() {
    let text = read_fixture("source1.yaml");
    let loaded = parse_source_str(&text, "source1.yaml", &seed_env(), None).unwrap();
    let s = &loaded.config;
    assert_eq!(s.source_id, "Aurora-A");
    assert_eq!(s.from.host, "172.16.10.83");
    assert_eq!(s.from.user, "dm_user");
    assert_eq!(s.from.password.expose(), "Sup3r\"S3cret'pw");
    assert_eq!(s.from.port, 3306);
    assert!(s.enable && !s.enable_relay && !s.enable_gtid);
    assert_eq!(s.purge.interval, 3600);
    assert_eq!(s.purge.remain_space, 15);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(ferry_config::detect_kind(&text), FileKind::Source);
}

#[test]
fn source2_enables_relay() {
    let text = read_fixture("source2.yaml");
    let loaded = parse_source_str(&text, "source2.yaml", &seed_env(), None).unwrap();
    assert_eq!(loaded.config.source_id, "Aurora-B");
    assert!(loaded.config.enable_relay);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn task1_is_a_full_task_with_consistency_none() {
    let text = read_fixture("task1.yaml");
    let loaded = parse_task_str(&text, "task1.yaml", &seed_env(), None).unwrap();
    let t = &loaded.config;
    assert_eq!(t.name, "task1");
    assert_eq!(t.task_mode, Some(TaskMode::Full));
    let target = t.target().unwrap();
    assert_eq!((target.host.as_str(), target.port), ("172.16.10.83", 4000));
    assert_eq!(target.user, "root");
    assert_eq!(target.password.expose(), "Sup3r\"S3cret'pw");
    assert_eq!(t.mysql_instances.len(), 1);
    let ba = t.instance_block_allow_list(0).unwrap();
    assert_eq!(ba.do_tables[0].db_name, "test_db");
    assert_eq!(ba.do_tables[0].tbl_name, "test_table");
    let dump = t.instance_mydumper(0);
    assert_eq!(dump.threads, 4);
    assert_eq!(dump.chunk_filesize, "64");
    assert_eq!(dump.chunk_filesize_bytes().unwrap(), 64 << 20);
    assert_eq!(
        dump.parsed_extra_args().unwrap().consistency,
        Some(Consistency::None)
    );
    assert_eq!(t.instance_loader(0).pool_size, 16);
    assert_eq!(t.instance_syncer(0).worker_count, 16);
    assert_eq!(t.meta_schema, "dm_meta");
    assert!(t.online_ddl && t.clean_dump_file);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(ferry_config::detect_kind(&text), FileKind::Task);
}

#[test]
fn task2_is_incremental_from_the_aurora_position() {
    let text = read_fixture("task2.yaml");
    let loaded = parse_task_str(&text, "task2.yaml", &seed_env(), None).unwrap();
    let t = &loaded.config;
    assert_eq!(t.task_mode, Some(TaskMode::Incremental));
    let meta = t.mysql_instances[0].meta.as_ref().unwrap();
    let pos = meta.position().unwrap();
    assert_eq!(pos.name, "mysql-bin-changelog.000003");
    assert_eq!(pos.pos, 23910021);
    assert_eq!(pos.seq(), 3);
    assert!(meta.gtid_set().is_none());
    let s = t.instance_syncer(0);
    assert_eq!(s.safe_mode_duration.as_deref(), Some("60s"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn seed_files_name_each_unset_variable() {
    let text = read_fixture("source1.yaml");
    let errs = parse_source_str(&text, "source1.yaml", &no_env, None).unwrap_err();
    let names: Vec<(&str, Option<u64>, Option<u64>)> = errs
        .errors()
        .iter()
        .map(|e| (e.message.as_str(), e.line, e.column))
        .collect();
    assert_eq!(errs.len(), 3, "{errs}");
    assert!(names[0].0.contains("`host`"));
    assert_eq!((names[0].1, names[0].2), (Some(5), Some(10)));
    assert!(names[1].0.contains("`username`"));
    assert_eq!(names[1].1, Some(6));
    assert!(names[2].0.contains("`password`"));
    assert_eq!(names[2].1, Some(7));
    for e in errs.errors() {
        assert_eq!(e.kind, ErrorKind::UnsetVariable);
        assert_eq!(e.origin, "source1.yaml");
    }
    let shown = errs.to_string();
    assert_eq!(shown.lines().count(), 3);
    assert!(shown.starts_with("source1.yaml:5:10: "), "{shown}");

    // Only `password` missing in task2.
    let env = env_of(&[("host", "h")]);
    let errs = parse_task_str(&read_fixture("task2.yaml"), "task2.yaml", &env, None).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert!(errs.errors()[0].message.contains("`password`"));
    assert_eq!(errs.errors()[0].line, Some(13));
}

#[test]
fn the_files_are_byte_identical_to_the_guide() {
    // The guide indents the source blocks inside a list item; the task blocks are flush.
    let guide = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/seed/000_a721c55e3ace728a.txt"),
    );
    let Ok(guide) = guide else { return };
    for name in ["task1.yaml", "task2.yaml"] {
        let text = read_fixture(name);
        assert!(
            guide.contains(text.trim_end()),
            "{name} differs from the guide"
        );
    }
    for name in ["source1.yaml", "source2.yaml"] {
        let indented: String = read_fixture(name)
            .trim_end()
            .lines()
            .map(|l| {
                if l.is_empty() {
                    String::new()
                } else {
                    format!("    {l}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert!(guide.contains(&indented), "{name} differs from the guide");
    }
}
