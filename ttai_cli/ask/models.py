"""Which model `ttai ask` talks to, through the `llm` library, and why it cannot.

The model is `--model`, else `TTAI_MODEL`, else `[ask] model` in config.toml, else llm's
own default (`llm models default`). Names are llm's: model ids or aliases, from llm
itself, its plugins (`llm install llm-anthropic`), or any OpenAI-compatible server
listed in llm's `extra-openai-models.yaml` (Ollama, llama.cpp, vLLM). Keys are llm's:
`llm keys set openai`, or the provider's environment variable; `LLM_USER_PATH` says
where llm keeps them.

Every way this can fail before a model is asked is a `ConfigError` (exit 2) whose one
line says what to run: llm not installed, an unknown model, a model without tool
support, a missing key. `--demo` uses the scripted demo model
(`ttai_cli.simulator.model`) over the same path: llm's OpenAI chat model pointed at a
local server of this process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ttai_cli.errors import ConfigError

if TYPE_CHECKING:
    from ttai_cli.config import Settings

INSTALL_HINT = "pip install 'ttai-cli[ai]'"


@dataclass(frozen=True)
class ModelChoice:
    """The model asked for, and where that choice came from (for messages)."""

    name: str | None  # None: llm's default model
    source: str  # "--model", "TTAI_MODEL", "[ask] model", "llm's default", "--demo"


def choose_model(
    option: str | None, settings: Settings, configured: str | None = None
) -> ModelChoice:
    """`--model` > `TTAI_MODEL` (the environment or the .env file) > `[ask] model` >
    llm's default. A daemon job's own `[ask.NAME] model` (`configured`) is the most
    specific choice there is: it comes first (a daemon job has no `--model`). Empty values
    count as not given."""
    if option and option.strip():
        return ModelChoice(option.strip(), "--model")
    if configured and configured.strip():
        return ModelChoice(configured.strip(), "[ask.NAME] model")
    if settings.model:
        return ModelChoice(settings.model, "TTAI_MODEL")
    if settings.file.ask_model:
        return ModelChoice(settings.file.ask_model, "[ask] model")
    return ModelChoice(None, "llm's default")


def import_llm() -> Any:
    """The `llm` module, or a ConfigError (exit 2) saying how to install it."""
    try:
        import llm
    except ImportError:
        raise ConfigError(
            f"`ttai ask` needs the llm library, which is not installed: {INSTALL_HINT}"
        ) from None
    return llm


def resolve_model(choice: ModelChoice) -> Any:
    """The llm async model for `choice`, checked as far as it can be without asking it:
    known to llm, able to call tools, and with its key found. ConfigError otherwise."""
    llm = import_llm()
    try:
        model = llm.get_async_model(choice.name)
    except OSError as exc:  # llm's folder cannot be created (a read-only home, say)
        raise ConfigError(
            f"llm cannot use its folder ({exc.strerror or exc}): set LLM_USER_PATH to a "
            "folder it can read (its keys and extra-openai-models.yaml live there)"
        ) from None
    except llm.UnknownModelError:
        shown = choice.name or llm.get_default_model()
        if choice.name is None:
            raise ConfigError(
                f"llm's default model {shown!r} is unknown to llm: choose one with "
                "--model (see `llm models`) or `llm models default MODEL`"
            ) from None
        raise ConfigError(
            f"unknown model {shown!r} ({choice.source}): `llm models` lists the models llm "
            "knows; add a provider with `llm install PLUGIN`, or a local server to llm's "
            "extra-openai-models.yaml"
        ) from None
    if not getattr(model, "supports_tools", False):
        raise ConfigError(
            f"model {model.model_id!r} cannot call tools, which `ttai ask` needs: choose "
            "another (`llm models --tools`), or for an OpenAI-compatible server set "
            "`supports_tools: true` in extra-openai-models.yaml"
        )
    check_key(model)
    return model


def check_key(model: Any) -> None:
    """A ConfigError naming `llm keys set NAME` when the model needs a key llm lacks."""
    needs = getattr(model, "needs_key", None)
    if not needs:
        return
    llm = import_llm()
    try:
        model.get_key()
    except llm.NeedsKeyException:
        variable = getattr(model, "key_env_var", None)
        extra = f" (or set {variable})" if variable else ""
        raise ConfigError(
            f"model {model.model_id!r} needs an API key: run `llm keys set {needs}`{extra}"
        ) from None


def demo_model() -> Any:
    """llm's OpenAI chat model pointed at the scripted demo model, served on 127.0.0.1
    by this process (started on first use, stopped at exit with the process)."""
    import_llm()
    from llm.default_plugins.openai_models import AsyncChat

    from ttai_cli.simulator.model import DEMO_MODEL_ID, demo_model_server

    running = demo_model_server()
    model: Any = AsyncChat(  # type: ignore[no-untyped-call]
        model_id=DEMO_MODEL_ID,
        model_name=DEMO_MODEL_ID,
        api_base=running.url,
        supports_tools=True,
    )
    model.needs_key = None  # as llm does for a model with its own api_base
    return model
