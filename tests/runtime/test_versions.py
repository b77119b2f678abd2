"""Which build a worker is: the build id follows the code a journey replays, and only it."""

from __future__ import annotations

import re

import pytest
from temporalio.common import VersioningBehavior

from rapport.runtime.settings import Settings
from rapport.runtime.versions import (
    DEV_BUILD,
    default_build_id,
    deployment_config,
    deployment_version,
    label,
    workflow_code,
)


def test_the_build_id_covers_the_workflow_and_what_it_imports_and_nothing_else() -> None:
    modules, libraries = workflow_code()
    assert {"workflows.journey", "workflows.core", "workflows.steps", "workflows.state"} <= set(
        modules
    )
    # followed through the imports: the policy math and the language the journey runs
    assert {"rapport.policy.window", "rapport.language.models", "rapport.contract.signals"} <= set(
        modules
    )
    # a change to activities, providers, the store, the web app or the CLI is a restart in
    # place, not a new version that running journeys must move to
    outside = ("activities", "rapport.providers", "rapport.store", "rapport.web", "rapport.cli")
    assert not [m for m in modules if m.startswith(outside)]
    assert {"temporalio", "pydantic"} <= set(libraries)


def test_the_build_id_is_stable_and_short() -> None:
    first = default_build_id()
    assert re.fullmatch(r"[0-9a-f]{12}", first)
    assert default_build_id() == first


@pytest.mark.slow
def test_settings_choose_the_version() -> None:
    settings = Settings(deployment_name="collections-eu", build_id="2026-12-03.1")
    assert label(deployment_version(settings)) == "collections-eu:2026-12-03.1"
    assert label(deployment_version(settings, dev=True)) == "collections-eu:2026-12-03.1"
    assert deployment_version(Settings(), dev=True).build_id == DEV_BUILD
    assert deployment_version(Settings()).build_id == default_build_id()
    assert deployment_version(Settings()).deployment_name == "rapport"


def test_journeys_are_pinned_by_the_worker() -> None:
    config = deployment_config(deployment_version(Settings(build_id="b1")))
    assert config.use_worker_versioning
    assert config.default_versioning_behavior == VersioningBehavior.PINNED
