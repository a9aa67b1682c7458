"""The workflow's layout: one stem names a stage from rule to script to stage module to function."""

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "workflow" / "rules"
# A rule that exists once per grid carries the grid after its stem (search_coarse).
GRID_SUFFIX = re.compile(r"_coarse$")


def _rule_blocks():
    """(kind, name, text) of every rule, checkpoint and derived rule in workflow/rules."""
    blocks = []
    for path in sorted(RULES.glob("*.smk")):
        for block in re.split(r"\n(?=(?:rule|checkpoint|use rule) )", path.read_text()):
            head = re.match(r"(rule|checkpoint) (\w+):|use rule (\w+) as (\w+)", block)
            if head and head.group(1):
                blocks.append((head.group(1), head.group(2), block))
            elif head:
                blocks.append(("use", head.group(4), block))
    return blocks


def _stage_rules():
    """{rule: stem} for every rule that runs a script, the stem read from its script's name."""
    stages = {}
    for kind, name, block in _rule_blocks():
        script = re.search(r'script:\s*"\.\./scripts/(\w+)\.py"', block)
        if kind != "use" and script:
            stages[name] = script.group(1)
    return stages


def test_every_rule_is_named_after_its_script():
    stages = _stage_rules()
    assert len(stages) >= 12
    for rule, stem in stages.items():
        assert GRID_SUFFIX.sub("", rule) == stem, f"rule {rule} runs scripts/{stem}.py"


def test_every_script_calls_the_function_of_its_name_from_the_stage_module_of_its_name():
    for rule, stem in _stage_rules().items():
        tree = ast.parse((REPO / "workflow" / "scripts" / f"{stem}.py").read_text())
        imports = {(node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                   for alias in node.names if node.module.startswith("twolayer.stages")}
        assert (f"twolayer.stages.{stem}", stem) in imports, f"scripts/{stem}.py imports {sorted(imports)}"
        calls = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
        assert stem in calls
        assert (REPO / "src" / "twolayer" / "stages" / f"{stem}.py").exists()


def test_every_rule_depends_on_the_code_of_its_own_stage_module():
    blocks = {name: block for _, name, block in _rule_blocks()}
    for rule, stem in _stage_rules().items():
        assert f'stage_code("twolayer.stages.{stem}")' in blocks[rule], rule


def test_derived_rules_come_from_a_rule_of_the_same_stem():
    derived = [(re.match(r"use rule (\w+) as (\w+)", block).groups()) for kind, _, block in _rule_blocks() if kind == "use"]
    assert derived
    stages = _stage_rules()
    for base, name in derived:
        assert base in stages and name.startswith(GRID_SUFFIX.sub("", base)), f"{name} derives from {base}"


def test_every_stage_module_is_run_by_a_rule_or_used_by_the_stages():
    stems = set(_stage_rules().values())
    helpers = {"__init__", "setup", "model"}
    modules = {path.stem for path in (REPO / "src" / "twolayer" / "stages").glob("*.py")}
    assert modules - helpers == stems
