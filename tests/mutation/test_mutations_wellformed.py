"""Every mutation still applies: a refactor that moves or rewrites the text a mutation
replaces (or renames a test it names) fails here, not silently in the mutation check."""

from __future__ import annotations

from tests.mutation.run import load_mutations, problems


def test_every_mutation_applies_to_the_code_as_it_is():
    mutations = load_mutations()
    assert len(mutations) >= 18  # the engine's list at least; a lost file shows here
    assert problems(mutations) == []


def test_a_broken_mutation_is_reported(tmp_path):
    (tmp_path / "tests" / "mutation").mkdir(parents=True)
    (tmp_path / "code.py").write_text("x = 1\nx = 1\n")
    (tmp_path / "tests" / "mutation" / "mutations_x.py").write_text(
        'MUTATIONS = [{"name": "twice", "path": "code.py", "old": "x = 1", "new": "x = 2",'
        ' "tests": ["tests/none.py", "code.py::test_gone"]}]\n'
    )
    found = problems(load_mutations(tmp_path), tmp_path)
    assert any("occurs 2 times" in p for p in found)
    assert any("tests/none.py does not exist" in p for p in found)
    assert any("code.py::test_gone does not exist" in p for p in found)
