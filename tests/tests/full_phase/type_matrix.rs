//! The type matrix, between both kinds of servers.

use super::*;

// ---------------------------------------------------------------------------------------
// 2. The type matrix.
// ---------------------------------------------------------------------------------------

async fn copy_type_matrix(up_kind: DbKind, down_kind: DbKind) {
    let up = shared(up_kind, Role::Upstream);
    let down = shared(down_kind, Role::Downstream);
    let db = unique_db_name(&format!("types_{up_kind}_{down_kind}"));
    let mut u = up.conn().await;
    load_type_matrix(&mut u, &db).await;

    let ferry = Ferry::start_temp("types");
    ferry.add_source("up", up).await;
    let task = task_name("types");
    let yaml = simple_task(
        &task,
        down,
        &[&db],
        "    extra-args: \"--consistency auto\"\n",
    );
    ferry.run_full_task(&task, &yaml, FINISH).await;

    let mut d = down.conn().await;
    assert_tables_match(
        &mut u,
        &mut d,
        &db,
        TYPE_MATRIX_TABLES,
        &format!("{up_kind} -> {down_kind}"),
    )
    .await;
}

#[tokio::test]
async fn type_matrix_mysql_to_mariadb() {
    copy_type_matrix(DbKind::Mysql, DbKind::Mariadb).await;
}

#[tokio::test]
async fn type_matrix_mariadb_to_mariadb() {
    copy_type_matrix(DbKind::Mariadb, DbKind::Mariadb).await;
}

/// INSERT path (MySQL 9.7 downstream has local_infile=OFF).
#[tokio::test]
async fn type_matrix_mysql_to_mysql() {
    copy_type_matrix(DbKind::Mysql, DbKind::Mysql).await;
}
