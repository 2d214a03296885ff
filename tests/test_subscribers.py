"""postcli.subscribers: the subscribers CSV, good and bad, with messages naming file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from postcli.errors import ExitCode, InputError
from postcli.issues import Variant
from postcli.subscribers import Subscriber, load_subscribers, normalize_address


def write(tmp_path: Path, text: str | bytes, name: str = "subscribers.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def problem(path: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        load_subscribers(path)
    assert caught.value.exit_code == ExitCode.INPUT
    return caught.value


def test_valid_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "email,name,tier\n"
        "  kim@Example.COM ,김철수,premium\n"
        "\n"
        "lee+news@example.org,,free\n"
        'park@example.net,"Park, Ji-sung",PREMIUM\n',
    )
    assert load_subscribers(path) == [
        Subscriber("kim@example.com", "김철수", Variant.PREMIUM, 2),
        Subscriber("lee+news@example.org", "", Variant.FREE, 4),
        Subscriber("park@example.net", "Park, Ji-sung", Variant.PREMIUM, 5),
    ]


def test_name_column_is_optional_and_columns_may_come_in_any_order(tmp_path: Path) -> None:
    path = write(tmp_path, "Tier,Email,joined\nfree,a@example.com,2024-01-01\n")
    assert load_subscribers(path) == [Subscriber("a@example.com", "", Variant.FREE, 2)]


def test_header_only_means_no_subscribers(tmp_path: Path) -> None:
    assert load_subscribers(write(tmp_path, "email,name,tier\n")) == []


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffemail,name,tier\r\na@example.com,에이,free\r\n".encode())
    assert load_subscribers(path) == [Subscriber("a@example.com", "에이", Variant.FREE, 2)]


def test_invalid_address_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "email,name,tier\na@example.com,A,free\nnot-an-address,B,free\n")
    error = problem(path)
    assert (error.path, error.line) == (path, 3)
    assert str(error).startswith(f"{path}:3: ")
    assert "not-an-address" in str(error)


@pytest.mark.parametrize(
    "address",
    [
        "no-at-sign",
        "two@@example.com",
        "spaces in@example.com",
        "Kim <kim@example.com>",
        "kim@localhost",
        "kim@-example.com",
        "kim@example..com",
        ".kim@example.com",
        "김@example.com",
        "kim@127.0.0.1",
        "",
    ],
)
def test_addresses_that_are_refused(address: str) -> None:
    with pytest.raises(ValueError):
        normalize_address(address)


def test_address_normalisation() -> None:
    assert normalize_address(" Kim.Lee@EXAMPLE.co.kr ") == "Kim.Lee@example.co.kr"
    assert normalize_address("a@브리프.한국") == "a@" + "브리프.한국".encode("idna").decode()


def test_unknown_tier(tmp_path: Path) -> None:
    path = write(tmp_path, "email,name,tier\na@example.com,A,gold\n")
    error = problem(path)
    assert error.line == 2
    assert "unknown tier 'gold'" in str(error) and "free" in str(error)


def test_empty_tier(tmp_path: Path) -> None:
    error = problem(write(tmp_path, "email,name,tier\na@example.com,A,\n"))
    assert error.line == 2 and "tier is empty" in str(error)


def test_duplicate_is_case_insensitive_and_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "email,name,tier\nkim@example.com,A,free\nKIM@Example.com,B,premium\n")
    error = problem(path)
    assert error.line == 3
    assert "duplicate" in str(error) and "line 2" in str(error)


def test_every_bad_row_is_listed_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "email,name,tier\n"
        "bad-one,A,free\n"
        "ok@example.com,B,free\n"
        "ok2@example.com,C,platinum\n"
        "OK@example.com,D,free\n",
    )
    error = problem(path)
    text = str(error)
    assert error.line == 2
    assert "3 bad rows" in text
    for line in (2, 4, 5):
        assert f"{path}:{line}: " in text


def test_a_row_with_two_problems_reports_both(tmp_path: Path) -> None:
    error = problem(write(tmp_path, "email,name,tier\nbad,A,gold\n"))
    assert "'bad'" in str(error) and "gold" in str(error)


def test_lines_count_quoted_newlines(tmp_path: Path) -> None:
    path = write(tmp_path, 'email,name,tier\na@example.com,"two\nlines",free\nbad,C,free\n')
    assert problem(path).line == 4


def test_missing_header(tmp_path: Path) -> None:
    path = write(tmp_path, "a@example.com,A,free\n")
    error = problem(path)
    assert error.line == 1
    assert "header" in str(error) and "email,name,tier" in (error.hint or "")


def test_header_without_tier(tmp_path: Path) -> None:
    error = problem(write(tmp_path, "email,name\na@example.com,A\n"))
    assert error.line == 1 and "'tier' missing" in str(error)


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    error = problem(path)
    assert error.path == path and "empty" in str(error)


def test_blank_lines_only_is_empty(tmp_path: Path) -> None:
    assert "empty" in str(problem(write(tmp_path, "\n\n  \n")))


def test_missing_file(tmp_path: Path) -> None:
    error = problem(tmp_path / "nope.csv")
    assert "does not exist" in str(error) and error.path == tmp_path / "nope.csv"


def test_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, b"email,name,tier\na@example.com," + "김".encode("euc-kr") + b",free\n")
    error = problem(path)
    assert error.line == 2 and "UTF-8" in str(error)


def test_bad_csv_quoting(tmp_path: Path) -> None:
    error = problem(write(tmp_path, 'email,name,tier\na@example.com,"A"x,free\n'))
    assert error.line == 2 and "CSV" in str(error)


def test_semicolons_get_their_own_message(tmp_path: Path) -> None:
    error = problem(write(tmp_path, "email;name;tier\na@example.com;A;free\n"))
    assert error.line == 1 and "';'" in str(error) and "commas" in (error.hint or "")


def test_bad_csv_on_the_first_line_is_not_called_empty(tmp_path: Path) -> None:
    error = problem(write(tmp_path, '"email,name,tier\n'))
    assert "CSV" in str(error) and "empty" not in str(error)


# -- a long list, read as a stream -----------------------------------------------------------------


def rows_text(count: int, start: int = 0) -> str:
    return "".join(
        f"reader{i}@example.org,Reader {i},{'premium' if i % 3 == 0 else 'free'}\n"
        for i in range(start, start + count)
    )


def test_reading_a_long_list_holds_no_more_python_memory_than_a_short_one(
    tmp_path: Path,
) -> None:
    import tracemalloc

    from postcli.subscribers import read_subscribers

    peaks = {}
    for count in (2_000, 40_000):
        path = write(tmp_path, "email,name,tier\n" + rows_text(count), f"s{count}.csv")
        tracemalloc.start()
        try:
            table = read_subscribers(path)
            seen = sum(1 for _ in table.tier(Variant.FREE)) + sum(
                1 for _ in table.tier(Variant.PREMIUM)
            )
            table.close()
            peaks[count] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert seen == count
    # A list of 40,000 Subscribers alone is about 11 MB; the stream keeps a row at a time.
    assert peaks[40_000] < 1_000_000, peaks
    assert peaks[40_000] < 3 * peaks[2_000], peaks


def test_a_streamed_list_keeps_the_file_order_per_tier_and_counts(tmp_path: Path) -> None:
    from postcli.subscribers import read_subscribers

    path = write(tmp_path, "email,name,tier\n" + rows_text(1_200))
    table = read_subscribers(path)
    try:
        free = list(table.tier(Variant.FREE))
        assert len(table) == 1_200 and len(table.tier(Variant.FREE)) == len(free) == 800
        assert [s.line for s in free] == sorted(s.line for s in free)
        assert free[0] == Subscriber("reader1@example.org", "Reader 1", Variant.FREE, 3)
        assert free[0] in table.tier(Variant.FREE) and free[0] not in table.tier(Variant.PREMIUM)
        assert list(table) == sorted(list(table), key=lambda s: s.line)  # and twice over
    finally:
        table.close()


def test_duplicates_far_apart_in_a_long_file_are_found_with_both_lines(tmp_path: Path) -> None:
    text = "email,name,tier\n" + rows_text(15_000) + "Reader7@EXAMPLE.org,again,free\n"
    error = problem(write(tmp_path, text))
    assert error.line == 15_002
    assert "duplicate address 'Reader7@example.org' (first on line 9)" in str(error)


def test_every_bad_row_of_a_long_file_is_counted_and_the_first_ones_listed(
    tmp_path: Path,
) -> None:
    bad = "".join(f"not-an-address-{i},x,free\n" for i in range(300))
    error = problem(write(tmp_path, "email,name,tier\n" + rows_text(100) + bad))
    text = str(error)
    assert "102: 300 bad rows:" in text and "... and 280 more bad rows" in text
    assert error.line == 102 and text.count("not-an-address-") == 20


def test_a_byte_that_is_not_utf8_far_down_is_reported_at_its_own_line(tmp_path: Path) -> None:
    data = ("email,name,tier\n" + rows_text(9_000)).encode() + "김,x,free\n".encode("euc-kr")
    error = problem(write(tmp_path, data + rows_text(50).encode()))
    assert error.line == 9_002 and "UTF-8" in str(error)


def test_a_plugins_own_list_is_copied_in_order_without_later_duplicates() -> None:
    from postcli.subscribers import SubscriberList

    rows = [
        Subscriber("b@example.org", "B", Variant.FREE, 5),
        Subscriber("a@example.org", "A", Variant.PREMIUM, 9),
        Subscriber("B@example.org", "B again", Variant.FREE, 12),
    ]
    table = SubscriberList.of(rows)
    try:
        assert list(table) == rows[:2] and table.count(Variant.FREE) == 1
    finally:
        table.close()
