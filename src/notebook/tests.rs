use super::*;

fn parse(json: &str) -> Result<(Notebook, Vec<Diagnostic>), NotebookError> {
    Notebook::from_slice(json.as_bytes(), "t.ipynb")
}

#[test]
fn source_as_string_or_lines_and_missing_ids() {
    let (nb, diags) = parse(
        r##"{"nbformat": 4, "nbformat_minor": 2, "metadata": {}, "cells": [
            {"cell_type": "code", "source": ["a = 1\n", "b = 2"], "metadata": {"tags": ["step:x"]}, "outputs": [{"data": {"image/png": "AAAA"}}]},
            {"cell_type": "markdown", "source": "# Title", "id": "abc"}]}"##,
    )
    .unwrap();
    assert!(diags.is_empty());
    assert_eq!(nb.cells[0].source, "a = 1\nb = 2");
    assert_eq!(nb.cells[0].tags, vec!["step:x"]);
    assert_eq!(nb.cells[0].id, None);
    assert_eq!(nb.cells[1].id.as_deref(), Some("abc"));
    assert_eq!(nb.cells[1].kind, CellKind::Markdown);
}

#[test]
fn invalid_json_reports_line_and_column() {
    let err = parse("{\n  \"nbformat\": 4,\n  \"cells\": [\n    {\"cell_type\": \"code\",}\n  ]\n}").unwrap_err();
    match err {
        NotebookError::Json { line, column, .. } => assert_eq!((line, column), (4, 26)),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn nbformat_3_and_other_kernels_are_refused() {
    let err = parse(r#"{"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}"#).unwrap_err();
    assert!(err.to_string().contains("nbformat 3 is not supported"), "{err}");
    let err = parse(r#"{"nbformat": 4, "metadata": {"kernelspec": {"language": "R"}}, "cells": []}"#).unwrap_err();
    assert!(err.to_string().contains("kernel language is `R`"), "{err}");
}

#[test]
fn bom_crlf_and_non_string_tags() {
    let json = "\u{feff}{\"nbformat\": 4, \"nbformat_minor\": 5, \"metadata\": {}, \"cells\": [{\"cell_type\": \"code\", \"source\": \"a = 1\\r\\nb = 2\\r\\n\", \"metadata\": {\"tags\": [\"skip\", 3]}}]}";
    let (nb, diags) = parse(json).unwrap();
    assert_eq!(nb.cells[0].source, "a = 1\nb = 2\n");
    assert_eq!(nb.cells[0].tags, vec!["skip"]);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code, "invalid-tag");
    assert_eq!(diags[0].cell, Some(0));
}

#[test]
fn wrong_types_are_errors_not_panics() {
    assert!(parse(r#"{"nbformat": 4, "cells": {"a": 1}}"#).is_err());
    assert!(parse(r#"{"nbformat": 4, "cells": [{"cell_type": 5}]}"#).is_err());
    assert!(parse(r#"[]"#).is_err());
    assert!(parse("").is_err());
}
