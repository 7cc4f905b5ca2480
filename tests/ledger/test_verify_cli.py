"""``doudesk verify``: evidence bundles and checkpoint consistency, offline (no database)."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from doudesk.ledger.merkle import MemoryNodeStore, MerkleTree, canonical_json
from doudesk.ledger.notes import generate_signer, sign_checkpoint
from doudesk.ledger.verify import dump_bundle, make_bundle

ORIGIN = "doudesk.test/ledger"
SIGNER = generate_signer(ORIGIN)
KEY = SIGNER.verifier_key


@pytest.fixture(autouse=True)
def chinese_by_default(monkeypatch) -> None:
    """No locale in the environment: the verdict is in Chinese."""
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LANG", raising=False)


@pytest.fixture(scope="module")
def tree() -> tuple[MerkleTree, list[bytes]]:
    """Build a 50-leaf log."""
    leaves = [
        canonical_json(
            {"type": "placed" if i % 10 == 0 else "progress", "order": i // 10, "价格": f"{i}.00"}
        )
        for i in range(50)
    ]
    tree = MerkleTree(MemoryNodeStore())
    tree.append_leaves(leaves)
    return tree, leaves


def note(tree: MerkleTree, size: int, signer=SIGNER) -> str:
    """Sign the checkpoint at ``size``."""
    return sign_checkpoint(ORIGIN, size, tree.root(size), signer)


def write(tmp_path: Path, name: str, text: str) -> str:
    """Write a file and return its path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def bundle_file(tmp_path: Path, tree, leaves, indexes=(40, 41, 45)) -> str:
    """Write an evidence bundle for ``indexes`` against the whole tree."""
    size = tree.size
    entries = [(i, leaves[i], tree.inclusion_proof(i, size)) for i in indexes]
    bundle = make_bundle(ORIGIN, note(tree, size), size, tree.root(), entries)
    return write(tmp_path, "bundle.json", dump_bundle(bundle))


def run(*args: str) -> str:
    """Run the command; return its output."""
    out = StringIO()
    call_command("verify", *args, stdout=out)
    return out.getvalue()


def fails(*args: str) -> tuple[int, str]:
    """Run the command expecting failure; return (exit status, output)."""
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("verify", *args, stdout=out)
    return exc.value.returncode, out.getvalue()


def test_a_genuine_bundle_verifies_in_chinese_by_default(tmp_path, tree):
    output = run(bundle_file(tmp_path, *tree), "--public-key", KEY)
    assert output.startswith("验证通过：证据包中的 3 条记录均已收录")
    assert "[40] type=placed order=4" in output


def test_english_from_the_flag_or_the_locale(tmp_path, tree, monkeypatch):
    path = bundle_file(tmp_path, *tree)
    assert run(path, "--public-key", KEY, "--lang", "en").startswith("VERIFIED: each of the 3")
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert run(path, "--public-key", KEY).startswith("VERIFIED")
    assert run(path, "--public-key", KEY, "--lang", "zh").startswith("验证通过")


def test_the_key_may_be_given_as_a_file(tmp_path, tree):
    key_file = write(tmp_path, "log.pub", KEY + "\n")
    assert run(bundle_file(tmp_path, *tree), "--public-key", key_file).startswith("验证通过")


def test_an_altered_bundle_fails_with_status_1(tmp_path, tree):
    path = Path(bundle_file(tmp_path, *tree))
    bundle = json.loads(path.read_text())
    bundle["entries"][1]["leaf"] = bundle["entries"][1]["leaf"].replace('"order":4', '"order":5')
    path.write_text(json.dumps(bundle, ensure_ascii=False))
    status, output = fails(str(path), "--public-key", KEY, "--lang", "en")
    assert status == 1
    assert output.startswith("VERIFICATION FAILED")
    assert "entries[1].leaf_hash" in output


def test_a_bundle_repeating_an_entry_fails(tmp_path, tree):
    # Repeated, an entry would count twice in "N entries verified".
    status, output = fails(bundle_file(tmp_path, *tree, indexes=(40, 41, 41)), "--public-key", KEY)
    assert status == 1
    assert "entries[2].index" in output
    assert "同一条记录出现了两次" in output


def test_the_verdict_says_it_proves_inclusion_not_completeness(tmp_path, tree):
    output = run(bundle_file(tmp_path, *tree), "--public-key", KEY, "--lang", "en")
    assert "do not show that none is missing" in output.splitlines()[0]


def test_on_the_command_line_a_failed_verdict_is_printed_once_and_exits_1(tmp_path, tree):
    path = Path(bundle_file(tmp_path, *tree))
    bundle = json.loads(path.read_text())
    bundle["entries"][1]["leaf"] = bundle["entries"][1]["leaf"].replace('"order":4', '"order":5')
    path.write_text(json.dumps(bundle, ensure_ascii=False))
    result = subprocess.run(
        [sys.executable, "-m", "doudesk.cli", "verify", str(path), "--public-key", KEY,
         "--lang", "en"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout.count("VERIFICATION FAILED") == 1
    assert "entries[1].leaf_hash" in result.stdout
    assert result.stderr == ""


def test_another_logs_key_fails(tmp_path, tree):
    other = generate_signer(ORIGIN).verifier_key
    status, output = fails(bundle_file(tmp_path, *tree), "--public-key", other)
    assert status == 1
    assert "验证失败" in output


def test_unusable_input_exits_2(tmp_path):
    assert fails("--public-key", KEY)[0] == 2
    assert fails(str(tmp_path / "missing.json"), "--public-key", KEY)[0] == 2


def test_consistent_checkpoints(tmp_path, tree):
    t, _leaves = tree
    old = write(tmp_path, "old.txt", note(t, 20))
    new_json = {"tree_size": 50, "root_hash": t.root().hex(), "note": note(t, 50)}
    new = write(tmp_path, "new.json", json.dumps(new_json))
    answer = {"first": 20, "second": 50, "proof": [h.hex() for h in t.consistency_proof(20, 50)]}
    proof = write(tmp_path, "proof.json", json.dumps(answer))
    output = run("--consistency", old, new, "--proof", proof, "--public-key", KEY, "--lang", "en")
    assert output.startswith("CONSISTENT: the log of size 50 extends the log of size 20")
    same = run("--consistency", new, new, "--public-key", KEY)
    assert same.startswith("一致")


def test_a_rewritten_log_is_inconsistent(tmp_path, tree):
    t, leaves = tree
    forked = MerkleTree(MemoryNodeStore())
    forked.append_leaves([*leaves[:10], b'{"forged":true}', *leaves[11:]])
    old = write(tmp_path, "old.txt", note(t, 20))
    new = write(tmp_path, "new.txt", note(forked, 50))
    answer = {"first": 20, "second": 50, "proof": [h.hex() for h in forked.consistency_proof(20)]}
    proof = write(tmp_path, "proof.json", json.dumps(answer))
    status, output = fails("--consistency", old, new, "--proof", proof, "--public-key", KEY)
    assert status == 1
    assert output.startswith("不一致或无效")


def test_a_proof_is_required_and_must_match_the_sizes(tmp_path, tree):
    t, _leaves = tree
    old = write(tmp_path, "old.txt", note(t, 20))
    new = write(tmp_path, "new.txt", note(t, 50))
    status, output = fails("--consistency", old, new, "--public-key", KEY, "--lang", "en")
    assert status == 1
    assert "a consistency proof is needed" in output
    answer = {"first": 21, "second": 50, "proof": [h.hex() for h in t.consistency_proof(20, 50)]}
    proof = write(tmp_path, "proof.json", json.dumps(answer))
    status, output = fails(
        "--consistency", old, new, "--proof", proof, "--public-key", KEY, "--lang", "en"
    )
    assert "the proof is for sizes 21->50" in output


def test_the_verdict_lists_a_delivered_file_s_hash_to_check_the_file_against(tmp_path):
    digest = "ab" * 32
    leaves = [
        canonical_json({"type": "placed", "order": 9}),
        canonical_json({"type": "deliverable_added", "order": 9, "sha256": digest}),
    ]
    log = MerkleTree(MemoryNodeStore())
    log.append_leaves(leaves)
    output = run(bundle_file(tmp_path, log, leaves, indexes=(0, 1)), "--public-key", KEY)
    assert f"[1] type=deliverable_added order=9 sha256={digest}" in output
