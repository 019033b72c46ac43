//! Statements of a hot path that diesel keeps prepared per connection.
//!
//! diesel caches a prepared statement only when it can tell the SQL will not change; it
//! never does for an UPDATE (`UpdateStatement` marks itself unsafe to cache), so every
//! UPDATE is parsed and planned afresh. On the submission path that was most of what
//! SQLite's single writer spent outside B-trees. A [`cached_statement!`] is a type of its
//! own with fixed SQL and bound values: its type id keys diesel's statement cache, on
//! SQLite and PostgreSQL alike (`?` or `$n` placeholders come from diesel).

/// Defines a struct holding the bound values of one fixed statement, run with
/// `diesel::RunQueryDsl::execute`. The SQL is given as literal pieces with a bound field
/// and its SQL type (as declared with the field; types of `diesel::sql_types` in scope)
/// after each piece but the last. The statement exists for the backends whose types
/// it uses (an `Array` makes it PostgreSQL's only):
///
/// ```ignore
/// cached_statement! {
///     /// Doc.
///     struct Touch { id: i64 => BigInt }
///     "UPDATE t SET seen = 1 WHERE id = ", id: BigInt, ""
/// }
/// ```
#[macro_export]
macro_rules! cached_statement {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident { $($field:ident : $ty:ty => $sql_ty:ty),* $(,)? }
        $first:literal $(, $bind:ident : $bind_ty:ty, $piece:literal)*
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        $vis struct $name { $(pub $field: $ty),* }

        impl ::diesel::query_builder::QueryId for $name {
            type QueryId = Self;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl<DB> ::diesel::query_builder::QueryFragment<DB> for $name
        where
            DB: ::diesel::backend::Backend,
            $($ty: ::diesel::serialize::ToSql<$sql_ty, DB>,)*
            DB: $(::diesel::sql_types::HasSqlType<$sql_ty> +)* Sized,
        {
            fn walk_ast<'b>(
                &'b self,
                mut out: ::diesel::query_builder::AstPass<'_, 'b, DB>,
            ) -> ::diesel::QueryResult<()> {
                out.push_sql($first);
                $(
                    out.push_bind_param::<$bind_ty, _>(&self.$bind)?;
                    out.push_sql($piece);
                )*
                Ok(())
            }
        }

        impl<C> ::diesel::RunQueryDsl<C> for $name {}
    };
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    use diesel::sql_types::{BigInt, Text};

    crate::cached_statement! {
        /// A test statement.
        struct Bump { by: i64 => BigInt, key: String => Text }
        "UPDATE t SET n = n + ", by: BigInt, " WHERE k = ", key: Text, ""
    }

    #[derive(diesel::QueryableByName)]
    struct Total {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    /// The statement runs with its values bound, and diesel's statement cache takes it:
    /// a static query id and nothing in it unsafe to cache (what the cache checks).
    #[test]
    fn runs_bound_and_is_cached() {
        use diesel::query_builder::{QueryFragment, QueryId};
        let mut conn = SqliteConnection::establish(":memory:").expect("memory db");
        conn.batch_execute(
            "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL); \
             INSERT INTO t VALUES ('a', 0), ('b', 0);",
        )
        .expect("table");
        for by in 1..=5 {
            let bump = Bump {
                by,
                key: "a".into(),
            };
            assert_eq!(bump.execute(&mut conn).expect("update"), 1);
        }
        let total: Total = diesel::sql_query("SELECT n FROM t WHERE k = 'a'")
            .get_result(&mut conn)
            .expect("read");
        assert_eq!(total.n, 15);
        let bump = Bump {
            by: 1,
            key: "b".into(),
        };
        assert!(Bump::query_id().is_some());
        assert!(
            QueryFragment::<diesel::sqlite::Sqlite>::is_safe_to_cache_prepared(
                &bump,
                &diesel::sqlite::Sqlite
            )
            .expect("walk")
        );
        #[cfg(feature = "postgres")]
        assert!(
            QueryFragment::<diesel::pg::Pg>::is_safe_to_cache_prepared(&bump, &diesel::pg::Pg)
                .expect("walk")
        );
    }
}
