"""What the services say about themselves over HTTP: `/health` and `/ready` (with the
district calendar's coverage), and from `/metrics` the consumer lag and the leadership table."""

import collections
import json
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from services.common.centers import load_centers


def _get(url, timeout=3):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", errors="replace")
    except OSError as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _samples(text):
    """Prometheus text as `{name: [(labels, value)]}` (counters under their `_total` name)."""
    found = collections.defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name].append((sample.labels, sample.value))
    return found


def health(urls):
    report = {}
    for name, url in urls.items():
        status, _ = _get(url + "/health")
        ready, reason = _get(url + "/ready")
        report[name] = {
            "url": url,
            "health": status == 200,
            "ready": ready == 200,
            **({} if ready == 200 else {"reason": reason[:200]}),
        }
        calendar = _calendar_detail(reason)
        if calendar:
            report[name]["calendar"] = calendar
    return report


def _calendar_detail(ready_body):
    """The district calendar's coverage as a service's `/ready` reports it (None if it says nothing)."""
    try:
        return json.loads(ready_body).get("calendar")
    except (ValueError, AttributeError):
        return None


def calendar_warnings(services):
    """One line per distinct calendar warning the services gave (usually one for all)."""
    return sorted({s["calendar"]["warning"] for s in services.values() if s.get("calendar", {}).get("warning")})


def service_metrics(urls):
    found = {}
    for name, url in urls.items():
        status, text = _get(url + "/metrics")
        found[name] = _samples(text) if status == 200 else {}
    return found


def consumer_lag(metrics):
    lag = {}
    for samples in metrics.values():
        for labels, value in samples.get("tiaojie_consumer_lag_seconds", []):
            lag[labels.get("consumer", "?")] = round(value, 3)
    for _labels, value in metrics.get("metrics", {}).get("tiaojie_projection_lag_seconds", []):
        lag["metrics projection"] = round(value, 3)
    return lag


def leadership(metrics):
    samples = metrics.get("metrics", {})
    received = collections.Counter()
    for labels, value in samples.get("tiaojie_cases_received_total", []):
        received[labels["center"]] += value
    closed = collections.Counter()
    for labels, value in samples.get("tiaojie_cases_closed_total", []):
        closed[labels["center"]] += value
    rates = {
        labels["center"]: value
        for labels, value in samples.get("tiaojie_success_rate", [])
        if labels.get("period") == "year"
    }
    target = next((v for _, v in samples.get("tiaojie_success_rate_target", [])), 0.6)
    rows = []
    for center in load_centers():
        rate = rates.get(center.center_id)
        rows.append(
            {
                "center": center.center_id,
                "name": center.name,
                "demonstration": center.demonstration,
                "received": int(received[center.center_id]),
                "closed": int(closed[center.center_id]),
                "success_rate_year": rate,
                "meets_target": None if rate is None else rate >= target,
            }
        )
    ratio = next(
        (v for labels, v in samples.get("tiaojie_centers_meeting_target_ratio", []) if labels.get("period") == "year"),
        None,
    )
    goal = next((v for _, v in samples.get("tiaojie_centers_meeting_target_goal", [])), None)
    return {"target": target, "centers_meeting_target_ratio": ratio, "goal": goal, "centers": rows}
