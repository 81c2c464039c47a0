//! `schema.graphql` is the exported SDL, checked in so that every API change is reviewed as a
//! diff. This test fails when the code's schema and the file differ.
//! Regenerate: `UPDATE_EXPECT=1 cargo test --test schema` (or `cargo run -- export-schema > schema.graphql`).

#[test]
fn schema_graphql_is_up_to_date() {
    let sdl = blogql::graphql::schema_builder().finish().sdl();
    expect_test::expect_file!["../schema.graphql"].assert_eq(&sdl);
}
