//! Tables shared by both backends. Written by hand (not `diesel print-schema`) because the
//! one schema must describe the SQLite and the PostgreSQL migrations alike: only types
//! both backends read the same way (BigInt, Integer, Text, Bool, Timestamp, Date).

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    departments (id) {
        id -> BigInt,
        name -> Text,
        parent_id -> Nullable<BigInt>,
        head_email -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    employees (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        department_id -> BigInt,
        manager_email -> Nullable<Text>,
        location -> Nullable<Text>,
        hire_date -> Nullable<Date>,
        attributes -> Text,
        active -> Bool,
        left_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    surveys (id) {
        id -> BigInt,
        slug -> Text,
        current_version_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    survey_versions (id) {
        id -> BigInt,
        survey_id -> BigInt,
        version -> Integer,
        source -> Text,
        source_hash -> Text,
        file_name -> Text,
        loaded_at -> Timestamp,
    }
}

diesel::table! {
    waves (id) {
        id -> BigInt,
        survey_id -> BigInt,
        version_id -> BigInt,
        label -> Text,
        origin -> Text,
        status -> Text,
        opens_at -> Timestamp,
        closes_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        reminders_done -> Integer,
        created_at -> Timestamp,
        counts_stale -> Bool,
        counts_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    invitations (id) {
        id -> BigInt,
        wave_id -> BigInt,
        employee_id -> BigInt,
        department_id -> BigInt,
        token_hash -> Text,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        reminded_at -> Nullable<Timestamp>,
        reminders_sent -> Integer,
        responded_on -> Nullable<Date>,
    }
}

diesel::table! {
    responses (id) {
        id -> Text,
        wave_id -> BigInt,
        department_id -> Nullable<BigInt>,
        attributes -> Text,
        employee_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    response_inbox (id) {
        id -> BigInt,
        wave_id -> BigInt,
        department_id -> Nullable<BigInt>,
        attributes -> Text,
        employee_id -> Nullable<BigInt>,
        answers -> Text,
    }
}

diesel::table! {
    answers (response_id, question_id, ordinal) {
        response_id -> Text,
        question_id -> Text,
        ordinal -> Integer,
        value -> Nullable<Integer>,
        text -> Nullable<Text>,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> BigInt,
        dedupe_key -> Text,
        kind -> Text,
        wave_id -> Nullable<BigInt>,
        recipient -> Text,
        subject -> Text,
        message -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        claimed_by -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        role -> Text,
        department_id -> Nullable<BigInt>,
        active -> Bool,
        created_at -> Timestamp,
        visit_at -> Nullable<Timestamp>,
        previous_visit_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_tokens (token_hash) {
        token_hash -> Text,
        user_id -> BigInt,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    invitation_tokens (token_hash) {
        token_hash -> Text,
        invitation_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Frozen snapshots of a wave's figures: views read the latest, never the answers.
    wave_releases (id) {
        id -> BigInt,
        wave_id -> BigInt,
        seq -> Integer,
        made_at -> Timestamp,
        is_final -> Bool,
        content -> Text,
    }
}

diesel::table! {
    /// The comments a release shows, per group (`group_id` 0: the whole audience).
    release_comments (release_id, group_id, ordinal) {
        release_id -> BigInt,
        group_id -> BigInt,
        ordinal -> Integer,
        question_id -> Text,
        text -> Text,
        department_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// A closed wave's counts per class of generalised responses (JSON).
    wave_cubes (wave_id) {
        wave_id -> BigInt,
        content -> Text,
    }
}

diesel::table! {
    /// Filtered views shown of a wave, each with the respondents it covered.
    wave_views (id) {
        id -> BigInt,
        wave_id -> BigInt,
        release_id -> BigInt,
        description -> Text,
        atoms -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// A closed wave's invited and answered counts per department: the invitations'
    /// answered marks, erased at close.
    wave_participation (wave_id, department_id) {
        wave_id -> BigInt,
        department_id -> BigInt,
        invited -> BigInt,
        answered -> BigInt,
    }
}

diesel::table! {
    /// Who did what and when (`src/audit.rs`); nothing about answers or respondents.
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        subject -> Text,
        detail -> Text,
    }
}

diesel::table! {
    publications (wave_id) {
        wave_id -> BigInt,
        published_at -> Timestamp,
        published_by -> Text,
        expires_at -> Timestamp,
        unpublished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    shared_comments (release_id, ordinal) {
        release_id -> BigInt,
        ordinal -> Integer,
        marked_by -> Text,
        marked_at -> Timestamp,
    }
}

diesel::table! {
    result_links (token_hash) {
        token_hash -> Text,
        wave_id -> BigInt,
        department_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    actions (id) {
        id -> BigInt,
        survey -> Text,
        wave_id -> Nullable<BigInt>,
        title -> Text,
        description -> Text,
        owner_id -> BigInt,
        department_id -> BigInt,
        service -> Nullable<Text>,
        questions -> Text,
        consumers -> Text,
        due_on -> Nullable<Date>,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    action_updates (id) {
        id -> BigInt,
        action_id -> BigInt,
        at -> Timestamp,
        author -> Text,
        status -> Text,
        note -> Text,
    }
}

diesel::table! {
    integration_keys (id) {
        id -> BigInt,
        name -> Text,
        key_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    feedback_requests (id) {
        id -> BigInt,
        integration_id -> BigInt,
        service -> Text,
        employee_id -> BigInt,
        asked -> Bool,
        reason -> Text,
        decided_at -> Timestamp,
    }
}

diesel::joinable!(employees -> departments (department_id));
diesel::joinable!(survey_versions -> surveys (survey_id));
diesel::joinable!(waves -> surveys (survey_id));
diesel::joinable!(wave_releases -> waves (wave_id));
diesel::joinable!(publications -> waves (wave_id));
diesel::joinable!(feedback_requests -> employees (employee_id));
diesel::joinable!(feedback_requests -> integration_keys (integration_id));
diesel::joinable!(actions -> users (owner_id));
diesel::joinable!(action_updates -> actions (action_id));
diesel::joinable!(invitations -> waves (wave_id));
diesel::joinable!(invitations -> employees (employee_id));
diesel::joinable!(responses -> waves (wave_id));
diesel::joinable!(answers -> responses (response_id));
diesel::joinable!(users -> departments (department_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(login_tokens -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    settings,
    departments,
    employees,
    surveys,
    survey_versions,
    waves,
    invitations,
    responses,
    answers,
    mail_outbox,
    users,
    login_tokens,
    sessions,
    leases,
    invitation_tokens,
    wave_releases,
    release_comments,
    wave_views,
    wave_participation,
    wave_cubes,
    audit_log,
    publications,
    integration_keys,
    feedback_requests,
    shared_comments,
    result_links,
    actions,
    action_updates,
);

// Report counts group answers by their respondent's department.
diesel::allow_columns_to_appear_in_same_group_by_clause!(
    responses::department_id,
    answers::question_id,
    answers::value,
);
diesel::joinable!(invitation_tokens -> invitations (invitation_id));
