"""Render Gaby's Helm chart offline with Helm's own Go SDK (the ``helm-python-sdk`` wheel bundles it), split the
output into manifests, and validate each one against the Kubernetes schemas ``kubernetes-validate`` bundles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "gaby"
# The chart's kubeVersion floor and the newest version whose schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.27.0", kubernetes_validate.latest_version())


@dataclass(frozen=True)
class Manifest:
    template: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])


def render(values: dict[str, Any] | None, *, release: str = "gaby", namespace: str = "gaby") -> list[Manifest]:
    """Every object the chart renders for an install, as parsed YAML, NOTES.txt left out."""
    chart = helm.Chart.load(CHART)
    rendered = chart.render(values, name=release, namespace=namespace, is_install=True)
    manifests = []
    for template, text in sorted(rendered.items()):
        if template.endswith("NOTES.txt"):
            continue
        manifests += [Manifest(template, doc) for doc in yaml.safe_load_all(text) if doc]
    return manifests


def notes(values: dict[str, Any] | None) -> str:
    rendered = helm.Chart.load(CHART).render(values, name="gaby", namespace="gaby", is_install=True)
    return next(text for template, text in rendered.items() if template.endswith("NOTES.txt"))


def schema_errors(manifests: list[Manifest], version: str) -> list[str]:
    """What the strict schemas (unknown fields refused) of Kubernetes ``version`` find wrong, one line per problem."""
    errors = []
    for manifest in manifests:
        try:
            kubernetes_validate.validate(manifest.body, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(part) for part in exc.path)
            errors.append(f"{manifest.template} {manifest.kind}/{manifest.name} at {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{manifest.template} {manifest.kind}: no schema in {version}: {exc}")
    return errors
