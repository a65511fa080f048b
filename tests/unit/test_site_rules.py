"""The pure rules about chair names: when two spellings are one chair, and which configured chair
a typed name means."""

from backend.sites.rules import Candidate, match, name_key, natural_key, tidy


def test_capitals_and_spaces_do_not_make_another_chair() -> None:
    assert tidy("  chair   7 ") == "chair 7"
    assert name_key("chair 7 ") == name_key("Chair 7") == name_key("CHAIR\t7")
    assert name_key("Chair 7") != name_key("Chair 71")


def test_a_typed_name_means_the_one_chair_in_use_by_that_name() -> None:
    seven = Candidate(1, "Chair 7", "Clinic / Main", True)
    assert match(" chair 7", [seven, Candidate(2, "Chair 8", "Clinic / Main", True)]) == seven
    # A retired chair of the same name elsewhere does not make it ambiguous.
    assert match("Chair 7", [seven, Candidate(3, "Chair 7", "Clinic / Old", False)]) == seven


def test_no_retired_or_ambiguous_chair_is_a_reason_not_a_guess() -> None:
    assert "no chair named 'chair 9'" in str(match("chair  9", []))
    retired = match("Chair 7", [Candidate(3, "Chair 7", "Clinic / Old", False)])
    assert isinstance(retired, str) and "retired" in retired
    both = match(
        "Chair 7",
        [
            Candidate(1, "Chair 7", "Clinic / Main", True),
            Candidate(4, "chair 7", "Annexe / Bay", True),
        ],
    )
    assert isinstance(both, str)
    assert "more than one room" in both and "chair_id 1" in both and "chair_id 4" in both


def test_names_sort_as_people_read_them() -> None:
    names = ["Chair 10", "chair 2", "Bay", "Chair 1"]
    assert sorted(names, key=natural_key) == ["Bay", "Chair 1", "chair 2", "Chair 10"]
