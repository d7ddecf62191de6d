"""The metrics service: projects every case event into its read model; serves gauges and reports.

Every event type of intake, mediation and arbitration_link has an inbox handler; each
applies the event's facts in the same transaction as its inbox record, so a redelivery
changes nothing and two instances never count twice.
"""

from nameko.extensions import DependencyProvider
from prometheus_client import CollectorRegistry, generate_latest
from werkzeug.wrappers import Response

from services.common.calendar import district_calendar
from services.common.errors import NotFound
from services.common.http import api, json_response, validate
from services.common.messaging import add_inbox_handlers
from services.common.ops import ops_metrics
from services.common.service import BaseService, ServiceStore

from .bootstrap import bootstrap
from .collector import CONSUMER, ReadModelCollector, projection_lag
from .projection import CONSUMED_EVENTS, facts_of
from .readmodel import apply_facts
from .report import produce_report, report_csv
from .report_page import render_report_page
from .schemas import ReportQuery


class ConsumerCounters(DependencyProvider):
    """Shows the projection's consumer counters at 0 from start-up.

    A counter series that first appears already above 0 (at its first error, say) has
    no increase in Prometheus; one that was scraped at 0 does.
    """

    def setup(self):
        service = self.container.service_name
        metrics = ops_metrics(service)
        for counter in (metrics.consumed, metrics.duplicates, metrics.handler_errors):
            counter.labels(service, f"{service}.{CONSUMER}")


class MetricsService(BaseService):
    name = "metrics"
    store = ServiceStore(bootstrap)
    consumer_counters = ConsumerCounters()

    def project(self, envelope):
        zone = self.store.settings.indicators.zone
        self.store.consume(CONSUMER, envelope, lambda uow, event, _: apply_facts(uow.cursor, facts_of(event, zone)))

    def extra_metrics(self):
        registry = CollectorRegistry()
        settings = self.store.settings
        registry.register(
            ReadModelCollector(
                self.store.database,
                self.store.clock,
                settings.indicators,
                list(settings.centers),
                projection_lag(settings.sources),
            )
        )
        return generate_latest(registry)

    @api("GET", "/api/v1/report")
    def report(self, request):
        principal = self.store.authenticate(request)
        query = validate(ReportQuery(), request.args.to_dict())
        settings = self.store.settings.indicators
        centers = list(self.store.settings.centers)
        if "center_id" in query:
            centers = [c for c in centers if c.center_id == query["center_id"]]
            if not centers:
                raise NotFound("unknown center")
            principal.require_read(query["center_id"])
        else:
            centers = [c for c in centers if principal.can_read(c.center_id)]
        now = self.store.clock.now()
        year = query.get("year") or settings.local_year(now)
        month = query.get("month")
        rows, summary = self.store.query(
            lambda cursor: produce_report(cursor, centers, settings, district_calendar(), now, year, month)
        )
        if query["format"] == "csv":
            period = f"{year}-{month:02d}" if month else str(year)
            return Response(
                report_csv(rows),
                status=200,
                mimetype="text/csv",
                headers={"Content-Disposition": f'attachment; filename="tiaojie-report-{period}.csv"'},
            )
        return json_response(
            200,
            {
                "year": year,
                "month": month,
                "timezone": settings.timezone,
                "denominator": settings.denominator,
                "target": settings.target,
                "milestone": settings.milestone(year),
                "success_rate_basis": summary["success_rate_basis"],
                "summary": summary,
                "corrected": any(row.get("changed_since_first_produced") for row in rows),
                "centers": rows,
            },
        )

    @api("GET", "/report")
    def report_page(self, request):
        """The leadership view as one printable HTML page: aggregates only, open like /metrics."""
        settings = self.store.settings.indicators
        centers = list(self.store.settings.centers)
        now = self.store.clock.now()
        year = settings.local_year(now)
        rows, summary = self.store.query(
            lambda cursor: produce_report(cursor, centers, settings, district_calendar(), now, year)
        )
        page = render_report_page(
            rows,
            {c.center_id for c in centers if c.demonstration},
            year,
            settings.target,
            settings.milestone(year),
            now.astimezone(settings.zone),
            summary,
        )
        return Response(page, status=200, mimetype="text/html")


add_inbox_handlers(MetricsService, CONSUMED_EVENTS, lambda self, source, envelope: self.project(envelope))
