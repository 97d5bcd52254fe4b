"""The command line itself: `loa --help` lists every command, `loa COMMAND --help` describes
one, and a group typed without its verb (`loa campaign`, `loa campaign --help`) lists the
group's commands with their usage instead of "unknown command"."""

import re

import pytest

# The groups of the command table and what each holds; a command added to a group shows up in
# `loa GROUP --help` without a change here, but one missing from it fails.
GROUPS = {
    "campaign": ["create", "approve", "start", "pause", "resume", "cancel", "show", "list"],
    "segment": ["create", "count", "list"],
    "template": ["create", "preview"],
    "replies": ["list", "answer"],
    "user": ["add", "list", "disable"],
    "targets": ["import"],
    "import": ["citizens"],
    "communes": ["import"],
    "db": ["migrate"],
    "config": ["check", "keys"],
    "gateway": ["status"],
}


def commands(loa):
    """The command names `loa --help` lists."""
    p = loa.run("--help")
    assert p.returncode == 0, p.stderr
    listing = p.stdout.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    return [re.split(r"\s{2,}", line.strip())[0] for line in listing.splitlines()]


def test_help_lists_every_group_and_command(loa):
    names = commands(loa)
    for group, verbs in GROUPS.items():
        for verb in verbs:
            assert f"{group} {verb}" in names
    assert {"report", "demo-data", "serve"} <= set(names)


@pytest.mark.plain_only
def test_group_help_lists_its_commands_with_their_usage(loa):
    names = commands(loa)
    for group in GROUPS:
        p = loa.run(group, "--help")
        assert p.returncode == 0, f"loa {group} --help: {p.returncode} {p.stderr}"
        assert "unknown command" not in p.stdout + p.stderr
        assert p.stdout.startswith(f"usage: loa {group} VERB"), p.stdout
        listed = re.findall(rf"^  loa ({group} \S+)", p.stdout, re.M)
        assert listed == [n for n in names if n.split(" ")[0] == group], p.stdout
        # Each command's line holds its usage as `loa COMMAND --help` prints it.
        for name in listed:
            h = loa.run(*name.split(" "), "--help")
            assert h.returncode == 0, h.stderr
            usage = h.stdout.splitlines()[0][len("usage: loa "):].rstrip()
            assert f"  loa {usage}\n" in p.stdout, (usage, p.stdout)
    p = loa.run("campaign", "-h")
    assert p.returncode == 0 and "loa campaign start CAMPAIGN [--per-phone one|all] [--json]" in p.stdout


def test_group_without_verb_is_bad_usage_that_lists_the_group(loa):
    p = loa.run("campaign")
    assert p.returncode == 2, p
    assert p.stdout == ""
    assert "usage: loa campaign VERB" in p.stderr
    for verb in GROUPS["campaign"]:
        assert f"loa campaign {verb}" in p.stderr
    assert "unknown command" not in p.stderr

    p = loa.run("segment", "frobnicate")
    assert p.returncode == 2
    assert "loa: unknown command 'segment frobnicate'" in p.stderr
    assert "loa segment count" in p.stderr and "loa campaign" not in p.stderr


def test_unknown_command_and_one_command_help_are_unchanged(loa):
    p = loa.run("frobnicate")
    assert p.returncode == 2
    assert p.stderr.startswith("loa: unknown command 'frobnicate'\n\n")
    assert "commands:" in p.stderr
    p = loa.run("report", "--help")
    assert p.returncode == 0
    assert p.stdout.startswith("usage: loa report --from DATE --to DATE")
    p = loa.run("campaign", "start", "--help")
    assert p.returncode == 0
    assert p.stdout == ("usage: loa campaign start CAMPAIGN [--per-phone one|all] [--json]\n"
                        "  schedule a draft campaign: the daemon sends it from its start time\n")
