"""cloud-init's configuration: which datasources it will try, and whether it configures the network."""

from __future__ import annotations

from typing import Any

import yaml

from imgtools.facts import CloudInit


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """cloud-init's default merge for config files: dictionaries merge recursively, the later value wins."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _as_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(item) for item in value if item is not None]
    return []


def parse_cloud_config(texts: list[tuple[str, str]]) -> CloudInit:
    """Merge (path, text) pairs in the order given: /etc/cloud/cloud.cfg, then cloud.cfg.d/*.cfg sorted.

    ``metadata_urls`` come from the settings of the listed datasources (of
    every configured one when no list is set).  Unreadable YAML is skipped
    as cloud-init itself does.  ``installed`` and
    ``version`` are left for the caller, who knows whether the package is there.
    """
    config: dict[str, Any] = {}
    for _path, text in texts:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        if isinstance(document, dict):
            config = _merge(config, document)
    datasources = _as_strings(config["datasource_list"]) if "datasource_list" in config else None
    settings_by_name = config.get("datasource") if isinstance(config.get("datasource"), dict) else {}
    urls: list[str] = []
    for name, settings in settings_by_name.items():
        if isinstance(settings, dict) and (datasources is None or name in datasources):
            urls += _as_strings(settings.get("metadata_urls"))
    network = config.get("network")
    disabled = None
    if isinstance(network, dict) and "config" in network:
        disabled = str(network["config"]).lower() == "disabled"
    return CloudInit(
        datasources=datasources,
        metadata_urls=urls,
        network_config_disabled=disabled,
    )
