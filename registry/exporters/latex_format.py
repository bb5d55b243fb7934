"""LaTeX from each operator's template in the language registry (a recipe: its parts side by side)."""
from primitives.language import OPERANDS, OPERATORS
from primitives.metric import Metric
from primitives.recipe import Recipe
from primitives.tree import format_number

_OPERAND_LATEX = {"W": "W", "G": "G", "X": r"\lVert X \rVert_2", "Xs": r"\overline{\lVert X \rVert^2}",
                  "Hd": r"[H^{-1}]_{jj}", "Y": r"\lVert Y \rVert_2"}


def export(metric: Metric) -> str:
    built: dict[int, str] = {}
    for node in metric.canonical_tree.postorder():
        if node.is_const:
            built[id(node)] = format_number(node.value)  # type: ignore[arg-type]
        elif node.is_operand:
            built[id(node)] = _OPERAND_LATEX.get(node.name, rf"\mathrm{{{node.name}}}") if node.name in OPERANDS else node.name
        else:
            built[id(node)] = OPERATORS[node.name].latex.format(*(built[id(a)] for a in node.args))
    return built[id(metric.canonical_tree)]


def export_recipe(recipe: Recipe) -> str:
    alloc = r"\text{uniform}" if recipe.alloc is None else rf"{export(recipe.alloc)}\ \text{{per {recipe.unit}}}"
    return rf"\text{{score: }} {export(recipe.score)};\quad \text{{allocation: }} {alloc};\quad " \
        rf"\text{{post: {recipe.post}}}"
