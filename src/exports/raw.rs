//! The raw export: one row per response, streamed.
//!
//! A row shows no column that identifies a person (no employee, no attributes, no time),
//! and rows come in the order of their random ids, which says nothing about when they
//! were written. A row's department is the respondent's own department only where the
//! report would show everything in the row for that department: the group itself, every
//! question the row answers, and (for a row with a comment) the group's comments.
//! Otherwise the row is labelled with the nearest parent department that passes, or left
//! empty (the whole audience). An answer that even the top of the export (the whole
//! audience, or `--department`) would not show is left out.

use std::collections::HashMap;
use std::io::Write;

use diesel::prelude::*;

use super::{find_wave, spreadsheet_writer, ExportError, ExportQuery};
#[cfg(feature = "sqlite")]
use crate::db::schema::answers;
use crate::db::Conn;
use crate::definitions::{Question, QuestionKind};
use crate::reports;
use crate::reports::org::Org;
use crate::reports::render::csv_text;
use crate::stats::{self, Group};

/// Responses read per query: small enough for flat memory, large enough to be quick.
const PAGE: i64 = 1000;

/// One level a row may be labelled with: what the report shows at that level.
struct Level {
    /// The department cell, ready for a spreadsheet; `None`: the whole audience (empty
    /// department cell).
    name: Option<String>,
    group_shown: bool,
    /// Per question (in column order): whether its figures are shown for this group.
    item_shown: Vec<bool>,
    comments_shown: bool,
}

/// Every department's labelling chain: itself, then its parents up to the top of the
/// export.
struct RawLabels {
    levels: Vec<Level>,
    chains: HashMap<i64, Vec<usize>>,
    /// The chain of a response without a department: the top alone.
    top: Vec<usize>,
}

impl RawLabels {
    fn build(
        org: &Org,
        plan: &stats::Disclosure<i64>,
        questions: &[&Question],
        scope: Option<i64>,
    ) -> RawLabels {
        let level = |group: &Group<i64>, name: Option<String>| Level {
            name,
            group_shown: plan.group(group, ()).is_shown(),
            item_shown: questions
                .iter()
                .map(|q| plan.item(group, &q.id.value, ()).is_shown())
                .collect(),
            comments_shown: plan.comments(group, ()).is_shown(),
        };
        let mut levels = Vec::new();
        let mut index_of: HashMap<Option<i64>, usize> = HashMap::new();
        for d in &org.departments {
            index_of.insert(Some(d.id), levels.len());
            levels.push(level(&Group::Department(d.id), Some(csv_text(&d.name))));
        }
        index_of.insert(None, levels.len());
        levels.push(level(&Group::Audience, None));
        let parents: HashMap<i64, Option<i64>> = org
            .departments
            .iter()
            .map(|d| (d.id, d.parent_id))
            .collect();
        let top = vec![index_of[&scope]];
        let mut chains = HashMap::new();
        for d in &org.departments {
            let mut chain = Vec::new();
            let mut at = Some(d.id);
            loop {
                chain.push(index_of[&at]);
                if at == scope || at.is_none() {
                    break;
                }
                at = at.and_then(|id| parents.get(&id).copied().flatten());
            }
            chains.insert(d.id, chain);
        }
        RawLabels {
            levels,
            chains,
            top,
        }
    }

    /// The level a row is labelled with, given which questions it answers (numbers and
    /// choices) and whether it has a comment.
    fn label(&self, department: Option<i64>, answered: &[bool], commented: bool) -> &Level {
        let chain = department
            .and_then(|d| self.chains.get(&d))
            .unwrap_or(&self.top);
        let fits = |level: &Level| {
            level.group_shown
                && (!commented || level.comments_shown)
                && answered
                    .iter()
                    .zip(&level.item_shown)
                    .all(|(a, shown)| !a || *shown)
        };
        let last = chain[chain.len() - 1];
        chain
            .iter()
            .map(|i| &self.levels[*i])
            .find(|l| fits(l))
            .unwrap_or(&self.levels[last])
    }
}

/// One response's answers, per question column.
#[derive(Default, Clone)]
struct Cells {
    values: Vec<Vec<i32>>,
    text: Vec<Option<String>>,
}

impl Cells {
    fn new(columns: usize) -> Cells {
        Cells {
            values: vec![Vec::new(); columns],
            text: vec![None; columns],
        }
    }

    fn clear(&mut self) {
        self.values.iter_mut().for_each(Vec::clear);
        self.text.iter_mut().for_each(|t| *t = None);
    }
}

/// Writes one answer cell into `out` (cleared first).
fn cell(out: &mut String, question: &Question, values: &[i32], text: Option<&str>) {
    use std::fmt::Write as _;
    out.clear();
    match &question.kind {
        QuestionKind::Text { .. } => {
            if let Some(text) = text {
                out.push_str(&csv_text(text));
            }
        }
        QuestionKind::Choice { options, .. } => {
            let chosen: Vec<&str> = values
                .iter()
                .filter_map(|v| usize::try_from(*v).ok())
                .filter_map(|i| options.default.get(i).map(String::as_str))
                .collect();
            out.push_str(&csv_text(&chosen.join("; ")));
        }
        _ => {
            if let Some(v) = values.first() {
                let _ = write!(out, "{v}");
            }
        }
    }
}

#[derive(QueryableByName)]
struct PageRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    department_id: Option<i64>,
}

/// The next `PAGE` responses of a wave after the id `after`, in id order. Each page
/// must continue along the primary key: sorting the whole wave for every page would
/// make an export quadratic. The `+` keeps the planner off the (wave, department)
/// index, which it would otherwise pick and then sort.
#[cfg(feature = "sqlite")]
fn next_page(
    conn: &mut diesel::SqliteConnection,
    wave_id: i64,
    after: &str,
) -> Result<Page, crate::db::DbError> {
    use diesel::sql_types::{BigInt, Text};
    let rows: Vec<PageRow> = diesel::sql_query(
        "SELECT id, department_id FROM responses \
         WHERE +wave_id = ? AND id > ? ORDER BY id LIMIT ?",
    )
    .bind::<BigInt, _>(wave_id)
    .bind::<Text, _>(after)
    .bind::<BigInt, _>(PAGE)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.id, r.department_id)).collect())
}

/// Streams the raw CSV of one wave to `out`; `progress(done, total)` is called after
/// every page. Returns the number of rows written.
pub fn raw(
    conn: &mut Conn,
    query: &ExportQuery,
    out: impl Write,
    progress: &dyn Fn(u64, u64),
) -> Result<u64, ExportError> {
    // Each page continues along the primary key; after a bulk import or seal the planner
    // needs current statistics to see that (see `db::planner`).
    crate::db::planner::refresh_if_stale(conn)?;
    let (waves, index) = find_wave(conn, query.survey, query.wave)?;
    let wave_row = &waves[index];
    let definition = reports::wave_definition(conn, wave_row.version_id)?;
    let org = Org::load(conn)?;
    let scope = match query.department {
        None => None,
        Some(name) => Some(
            org.by_name(name)
                .ok_or_else(|| reports::ReportError::UnknownDepartment {
                    name: name.to_string(),
                    known: org.known_names(),
                })?
                .id,
        ),
    };
    // Rows are single answers: only a closed wave's final release, with no group
    // keeping interim figures, says which departments they may be labelled with.
    let released =
        reports::release::exact_final(conn, wave_row.id, &wave_row.label, &org, "a raw export")?;
    let plan = &released.disclosure;
    let top_group = scope.map_or(Group::Audience, Group::Department);
    if !plan.group(&top_group, ()).is_shown() {
        return Err(ExportError::TooFew {
            group: query
                .department
                .map_or_else(|| "the whole audience".to_string(), str::to_string),
            threshold: u64::from(definition.min_group_size),
            wave: wave_row.label.clone(),
        });
    }
    let questions: Vec<&Question> = definition.questions().map(|(_, q)| q).collect();
    #[cfg(feature = "sqlite")]
    let column: HashMap<&str, usize> = questions
        .iter()
        .enumerate()
        .map(|(i, q)| (q.id.value.as_str(), i))
        .collect();
    let labels = RawLabels::build(&org, plan, &questions, scope);
    let members: Option<Vec<i64>> = scope.map(|id| org.subtree(id));
    let total: u64 = plan.respondents(&top_group);

    let mut writer = spreadsheet_writer(std::io::BufWriter::new(out))?;
    let mut header = vec!["response".to_string(), "department".to_string()];
    header.extend(questions.iter().map(|q| csv_text(&q.id.value)));
    writer.write_record(&header)?;

    let mut rows = Rows {
        labels: &labels,
        questions: &questions,
        is_text: questions
            .iter()
            .map(|q| matches!(q.kind, QuestionKind::Text { .. }))
            .collect(),
        members: members.as_deref(),
        writer,
        field: String::new(),
        answered: vec![false; questions.len()],
        written: 0,
    };
    match conn {
        #[cfg(feature = "postgres")]
        Conn::Postgres(pg) => {
            stream_postgres(pg, wave_row.id, &questions, total, &mut rows, progress)?
        }
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(c) => stream_sqlite(c, wave_row.id, &column, total, &mut rows, progress)?,
    }
    rows.writer.flush()?;
    Ok(rows.written)
}

/// The CSV being written, and what labelling a row needs.
struct Rows<'a, W: Write> {
    labels: &'a RawLabels,
    questions: &'a [&'a Question],
    is_text: Vec<bool>,
    /// The department subtree of `--department`: rows outside it are skipped.
    members: Option<&'a [i64]>,
    writer: csv::Writer<W>,
    /// A cell being written, reused from cell to cell.
    field: String,
    answered: Vec<bool>,
    written: u64,
}

impl<W: Write> Rows<'_, W> {
    /// Writes one response's row, unless it lies outside the department subtree.
    fn write(
        &mut self,
        id: &str,
        department: Option<i64>,
        cells: &Cells,
    ) -> Result<(), ExportError> {
        if let Some(members) = self.members {
            if !department.is_some_and(|d| members.contains(&d)) {
                return Ok(());
            }
        }
        let mut commented = false;
        for (i, is_text) in self.is_text.iter().enumerate() {
            let has = !cells.values[i].is_empty() || cells.text[i].is_some();
            self.answered[i] = has && !is_text;
            commented |= has && *is_text;
        }
        let level = self.labels.label(department, &self.answered, commented);
        // Field by field into the writer: no string per cell besides a comment's.
        self.writer.write_field(id)?;
        self.writer
            .write_field(level.name.as_deref().unwrap_or_default())?;
        for (i, q) in self.questions.iter().enumerate() {
            let allowed = if self.is_text[i] {
                level.comments_shown
            } else {
                level.item_shown[i]
            };
            if allowed {
                cell(
                    &mut self.field,
                    q,
                    &cells.values[i],
                    cells.text[i].as_deref(),
                );
                self.writer.write_field(&self.field)?;
            } else {
                self.writer.write_field("")?;
            }
        }
        self.writer.write_record(None::<&[u8]>)?;
        self.written += 1;
        Ok(())
    }
}

/// A page of response ids with their departments.
type Page = Vec<(String, Option<i64>)>;

/// Reads the pages of a wave on one or two connections while the calling thread writes
/// them: a thread walks the pages (`next_page`; an empty page ends) and looks up the
/// answers of even pages itself (`answers`), handing odd ones to a second reader on its
/// own connection. So the database looks up two pages at once, and the CSV is written
/// meanwhile. Pages are written in order; a reader stays at most a page or two ahead,
/// so memory stays flat.
fn two_readers<C: Send, A: Send>(
    first: &mut C,
    second: Option<&mut C>,
    mut next_page: impl FnMut(&mut C) -> Result<Page, crate::db::DbError> + Send,
    answers: impl Fn(&mut C, &Page) -> Result<A, crate::db::DbError> + Sync,
    mut write: impl FnMut(Page, A) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    use crate::db::DbError;
    use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
    type Batch<A> = Result<Option<(Page, A)>, DbError>;
    let answers = &answers;
    std::thread::scope(|scope| -> Result<(), ExportError> {
        let (to_writer_a, from_a) = sync_channel::<Batch<A>>(1);
        let mut from_b: Option<Receiver<Batch<A>>> = None;
        let mut to_b: Option<SyncSender<Option<Page>>> = None;
        if let Some(conn) = second {
            let (to_writer, from) = sync_channel(1);
            let (send_page, pages) = sync_channel::<Option<Page>>(1);
            from_b = Some(from);
            to_b = Some(send_page);
            scope.spawn(move || {
                for page in pages {
                    let batch = match page {
                        None => Ok(None),
                        Some(page) => answers(conn, &page).map(|found| Some((page, found))),
                    };
                    let stop = !matches!(batch, Ok(Some(_)));
                    if to_writer.send(batch).is_err() || stop {
                        break;
                    }
                }
            });
        }
        // The end goes to the reader whose turn is next.
        scope.spawn(move || {
            let mut k = 0usize;
            loop {
                let page = match next_page(first) {
                    Ok(page) => page,
                    Err(e) => {
                        let _ = to_writer_a.send(Err(e));
                        return;
                    }
                };
                let end = page.is_empty();
                let page = (!end).then_some(page);
                match &to_b {
                    Some(to_b) if k % 2 == 1 => {
                        if to_b.send(page).is_err() {
                            return;
                        }
                    }
                    _ => {
                        let batch = match page {
                            None => Ok(None),
                            Some(page) => answers(first, &page).map(|found| Some((page, found))),
                        };
                        let stop = !matches!(batch, Ok(Some(_)));
                        if to_writer_a.send(batch).is_err() || stop {
                            return;
                        }
                    }
                }
                if end {
                    return;
                }
                k += 1;
            }
        });
        for k in 0.. {
            let inbox = match &from_b {
                Some(from_b) if k % 2 == 1 => from_b,
                _ => &from_a,
            };
            // A reader ends only after sending the end or an error.
            let Some((page, found)) = inbox.recv().map_err(|_| DbError::TaskFailed)?? else {
                break;
            };
            write(page, found)?;
        }
        Ok(())
    })
}

/// One response's answers as SQLite gives them: (column, value, text), a question's
/// values in the order of their ordinals.
#[cfg(feature = "sqlite")]
type SqliteAnswers = Vec<(usize, Option<i32>, Option<String>)>;

/// The answers of a page, one list per response in the page's order. They come in
/// the order of the answers' primary key (response id, question, ordinal), which is
/// the page's order, and are merged with it.
#[cfg(feature = "sqlite")]
fn sqlite_page_answers(
    conn: &mut diesel::SqliteConnection,
    page: &Page,
    column: &HashMap<&str, usize>,
) -> Result<Vec<SqliteAnswers>, crate::db::DbError> {
    use diesel::connection::DefaultLoadingMode;
    let ids: Vec<&str> = page.iter().map(|(id, _)| id.as_str()).collect();
    let stored = answers::table
        .filter(answers::response_id.eq_any(&ids))
        .order((answers::response_id, answers::question_id, answers::ordinal))
        .select((
            answers::response_id,
            answers::question_id,
            answers::value,
            answers::text,
        ))
        .load_iter::<(String, String, Option<i32>, Option<String>), DefaultLoadingMode>(conn)?;
    let mut found: Vec<SqliteAnswers> = Vec::with_capacity(page.len());
    found.push(Vec::new());
    for answer in stored {
        let (response_id, question_id, value, text) = answer?;
        // Responses without answers lie between (the same order).
        while page[found.len() - 1].0 != response_id {
            if found.len() == page.len() {
                return Err(diesel::result::Error::DeserializationError(
                    "an answer came back for a response outside the page".into(),
                )
                .into());
            }
            found.push(Vec::new());
        }
        if let Some(&i) = column.get(question_id.as_str()) {
            if let Some(current) = found.last_mut() {
                current.push((i, value, text));
            }
        }
    }
    found.resize_with(page.len(), Vec::new);
    Ok(found)
}

/// SQLite: pages of `PAGE` responses along the primary key, their answers read on two
/// connections (see [`two_readers`]): at 100,000 responses x 30 questions, 1.0-1.3 s
/// instead of 1.8-2.1 s on one.
#[cfg(feature = "sqlite")]
fn stream_sqlite<W: Write>(
    conn: &mut diesel::SqliteConnection,
    wave_id: i64,
    column: &HashMap<&str, usize>,
    total: u64,
    rows: &mut Rows<'_, W>,
    progress: &dyn Fn(u64, u64),
) -> Result<(), ExportError> {
    let mut second = if total > PAGE as u64 {
        crate::db::sqlite_reader(conn)
    } else {
        None
    };
    let members = rows.members;
    let mut after = String::new();
    let mut cells = Cells::new(rows.questions.len());
    two_readers(
        conn,
        second.as_mut(),
        |c| loop {
            let page = next_page(c, wave_id, &after)?;
            let Some((last, _)) = page.last() else {
                return Ok(page);
            };
            after.clone_from(last);
            // Rows outside the department subtree are skipped here rather than in the
            // query, which must stay a plain walk along the id index. A page left empty
            // is not the end.
            let page: Page = match members {
                None => page,
                Some(members) => page
                    .into_iter()
                    .filter(|(_, d)| d.is_some_and(|d| members.contains(&d)))
                    .collect(),
            };
            if !page.is_empty() {
                return Ok(page);
            }
        },
        |c, page| sqlite_page_answers(c, page, column),
        |page, found| {
            for ((id, department), answers) in page.iter().zip(found) {
                cells.clear();
                for (i, value, text) in answers {
                    if let Some(v) = value {
                        cells.values[i].push(v);
                    }
                    if text.is_some() {
                        cells.text[i] = text;
                    }
                }
                rows.write(id, *department, &cells)?;
            }
            progress(rows.written, total);
            Ok(())
        },
    )
}

/// One response's answers as PostgreSQL sends them: aggregated into arrays (in the same
/// order), each answer's question given as its column + 1 (`None`: a question the
/// wave's definition does not have).
#[cfg(feature = "postgres")]
#[derive(QueryableByName)]
struct StreamedAnswers {
    #[diesel(sql_type = Nullable<Array<Nullable<Integer>>>)]
    columns: Option<Vec<Option<i32>>>,
    #[diesel(sql_type = Nullable<Array<Nullable<Integer>>>)]
    ordinals: Option<Vec<Option<i32>>>,
    #[diesel(sql_type = Nullable<Array<Nullable<Integer>>>)]
    vals: Option<Vec<Option<i32>>>,
    #[diesel(sql_type = Nullable<Array<Nullable<diesel::sql_types::Text>>>)]
    texts: Option<Vec<Option<String>>>,
}

#[cfg(feature = "postgres")]
use diesel::sql_types::{Array, Integer, Nullable};

/// The answers of a page of response ids, one row per id in the page's order. Answers
/// sit under their random response id in an index over every wave, so PostgreSQL finds
/// a response's answers with one index lookup (10-20 µs, the bulk of the export);
/// aggregating them per response spares sending, and decoding here, an id per answer.
#[cfg(feature = "postgres")]
const PAGE_ANSWERS_SQL: &str = "SELECT a.columns, a.ordinals, a.vals, a.texts \
     FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n) CROSS JOIN LATERAL ( \
         SELECT array_agg(array_position($2::text[], x.question_id)) AS columns, \
                array_agg(x.ordinal) AS ordinals, array_agg(x.value) AS vals, \
                array_agg(x.text) AS texts \
         FROM answers x WHERE x.response_id = u.id) a \
     ORDER BY u.n";

#[cfg(feature = "postgres")]
fn page_answers(
    conn: &mut diesel::PgConnection,
    page: &[(String, Option<i64>)],
    question_ids: &[String],
) -> Result<Vec<StreamedAnswers>, crate::db::DbError> {
    let ids: Vec<&str> = page.iter().map(|(id, _)| id.as_str()).collect();
    let found: Vec<StreamedAnswers> = diesel::sql_query(PAGE_ANSWERS_SQL)
        .bind::<Array<diesel::sql_types::Text>, _>(&ids)
        .bind::<Array<diesel::sql_types::Text>, _>(question_ids)
        .load(conn)?;
    if found.len() != page.len() {
        return Err(diesel::result::Error::DeserializationError(
            "the answers of a page came back for a different number of responses".into(),
        )
        .into());
    }
    Ok(found)
}

/// PostgreSQL: one pass over the wave's response ids in id order (a cursor: one sort,
/// fetched a page at a time), each page's answers read in turn by two connections in
/// one snapshot, on threads of their own, while this thread writes the CSV. So the
/// server looks up two pages at once, and the client decodes and writes meanwhile.
/// Pages are written in order; a reader stays at most a page or two ahead, so memory
/// stays flat.
#[cfg(feature = "postgres")]
fn stream_postgres<W: Write>(
    pg: &mut crate::db::PgConn,
    wave_id: i64,
    questions: &[&Question],
    total: u64,
    rows: &mut Rows<'_, W>,
    progress: &dyn Fn(u64, u64),
) -> Result<(), ExportError> {
    use diesel::connection::SimpleConnection;
    use diesel::sql_types::Text;
    #[derive(QueryableByName)]
    struct Snapshot {
        #[diesel(sql_type = Text)]
        id: String,
    }
    // Position in this list = column + 1 (array_position's numbering).
    let question_ids: Vec<String> = questions.iter().map(|q| q.id.value.clone()).collect();
    let mut sibling = if total > PAGE as u64 {
        pg.sibling()
    } else {
        None
    };
    // JIT compiling costs more than it saves here; the sort of the wave's ids fits in
    // memory instead of spilling (about 5 MB at 100,000 responses).
    const BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
                         SET LOCAL jit = off; SET LOCAL work_mem = '64MB'";
    let main: &mut diesel::PgConnection = pg;
    main.batch_execute(BEGIN)
        .map_err(crate::db::DbError::from)?;
    let outcome = (|| -> Result<(), ExportError> {
        if let Some(second) = &mut sibling {
            let snapshot: Snapshot = diesel::sql_query("SELECT pg_export_snapshot() AS id")
                .get_result(&mut *main)
                .map_err(crate::db::DbError::from)?;
            // The id comes from PostgreSQL itself (hex digits and dashes), never from input.
            let joined = second.batch_execute(&format!(
                "{BEGIN}; SET TRANSACTION SNAPSHOT '{}'",
                snapshot.id.replace('\'', "")
            ));
            if joined.is_err() {
                let _ = second.batch_execute("ROLLBACK");
                sibling = None;
            }
        }
        // The wave id is ours (a number), not input.
        main.batch_execute(&format!(
            "DECLARE export_ids NO SCROLL CURSOR FOR SELECT id, department_id \
             FROM responses WHERE wave_id = {wave_id} ORDER BY id"
        ))
        .map_err(crate::db::DbError::from)?;
        let fetch = format!("FETCH {PAGE} FROM export_ids");
        let question_ids = &question_ids;
        let mut cells = Cells::new(question_ids.len());
        let mut ordered: Vec<(i32, i32)> = Vec::new();
        two_readers(
            &mut *main,
            sibling.as_deref_mut(),
            |c| {
                let page: Vec<PageRow> = diesel::sql_query(&fetch).load(c)?;
                Ok(page.into_iter().map(|r| (r.id, r.department_id)).collect())
            },
            |c, page| page_answers(c, page, question_ids),
            |page, found| {
                for ((id, department), answers) in page.iter().zip(&found) {
                    fill(&mut cells, &mut ordered, answers);
                    rows.write(id, *department, &cells)?;
                }
                progress(rows.written, total);
                Ok(())
            },
        )
    })();
    // Read-only: ending the transactions either way loses nothing; a failed one is
    // rolled back by COMMIT.
    let ended = main.batch_execute("COMMIT");
    if let Some(second) = &mut sibling {
        let _ = second.batch_execute("COMMIT");
    }
    outcome?;
    ended.map_err(crate::db::DbError::from)?;
    Ok(())
}

/// Puts one streamed response's answers into `cells`, the values of a question in the
/// order of their ordinals (the arrays come in no promised order).
#[cfg(feature = "postgres")]
fn fill(cells: &mut Cells, ordered: &mut Vec<(i32, i32)>, response: &StreamedAnswers) {
    cells.clear();
    let (Some(columns), Some(ordinals), Some(values), Some(texts)) = (
        &response.columns,
        &response.ordinals,
        &response.vals,
        &response.texts,
    ) else {
        return;
    };
    let mut several = false;
    for (at, column) in columns.iter().enumerate() {
        let Some(i) = column.and_then(|c| usize::try_from(c - 1).ok()) else {
            continue;
        };
        if i >= cells.values.len() {
            continue;
        }
        if let Some(Some(v)) = values.get(at) {
            several |= !cells.values[i].is_empty();
            cells.values[i].push(*v);
        }
        if let Some(Some(t)) = texts.get(at) {
            cells.text[i] = Some(t.clone());
        }
    }
    if !several {
        return;
    }
    // A choice question answered with several options: one answer per option.
    for (i, cell_values) in cells.values.iter_mut().enumerate() {
        if cell_values.len() < 2 {
            continue;
        }
        ordered.clear();
        for (at, column) in columns.iter().enumerate() {
            if *column == Some(i as i32 + 1) {
                if let (Some(Some(o)), Some(Some(v))) = (ordinals.get(at), values.get(at)) {
                    ordered.push((*o, *v));
                }
            }
        }
        ordered.sort_unstable();
        cell_values.clear();
        cell_values.extend(ordered.iter().map(|(_, v)| *v));
    }
}
