"""Powertools logging/metrics settings, alarms and one dashboard.

Extension points: `watch_function(name, fn)`, `watch_api(api)`, `add_alarm(alarm)`, `add_widgets(...)`
and `add_alarm_action(action)` (an SNS topic, a chatbot...) which applies to every alarm, present
and future. A reclassification construct calls these instead of editing this file.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.function_env import METRICS_NAMESPACE, SERVICE_NAME

PERIOD = Duration.minutes(5)


def emf_metric(name: str, statistic: str = "Sum", period: Duration = PERIOD, **dimensions: str) -> cw.Metric:
    """A metric the handlers write as EMF (Powertools Metrics): Powertools adds the `service` dimension
    to every metric it writes, so a widget or alarm without it would watch a metric that never exists."""
    return cw.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE_NAME, **dimensions},
        statistic=statistic,
        period=period,
    )


class Observability(Construct):
    """`topic` receives every alarm: the stack's own SNS topic, or the existing one whose ARN the
    alarmTopicArn context gives (infra/config.py)."""

    def __init__(self, scope: Construct, construct_id: str, *, alarm_topic_arn: str = ""):
        super().__init__(scope, construct_id)
        self.alarms: list[cw.Alarm] = []
        self._actions: list[cw.IAlarmAction] = []
        self.dashboard = cw.Dashboard(self, "Dashboard", default_interval=Duration.days(1))
        self.topic: sns.ITopic = (
            sns.Topic.from_topic_arn(self, "AlarmTopic", alarm_topic_arn)
            if alarm_topic_arn
            else sns.Topic(self, "AlarmTopic", display_name="Loyalty alarms", enforce_ssl=True)
        )
        self.add_alarm_action(cw_actions.SnsAction(self.topic))

    # -- extension points ------------------------------------------------------------------------

    def add_alarm(self, alarm: cw.Alarm) -> cw.Alarm:
        for action in self._actions:
            alarm.add_alarm_action(action)
        self.alarms.append(alarm)
        return alarm

    def add_alarm_action(self, action: cw.IAlarmAction) -> None:
        self._actions.append(action)
        for alarm in self.alarms:
            alarm.add_alarm_action(action)

    def add_widgets(self, *widgets: cw.IWidget) -> None:
        self.dashboard.add_widgets(*widgets)

    # -- what the stack watches ------------------------------------------------------------------

    def _any(self, construct_id: str, metric: cw.IMetric, description: str) -> cw.Alarm:
        return self.alarm_on_any(self, construct_id, metric, description)

    def alarm_on_any(
        self, scope: Construct, construct_id: str, metric: cw.IMetric, description: str
    ) -> cw.Alarm:
        """An alarm (in `scope`) when `metric` is 1 or more in a period; no data is not an alarm."""
        return self.add_alarm(
            cw.Alarm(
                scope,
                construct_id,
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
        )

    def watch_function(self, name: str, fn: lambda_.IFunction) -> None:
        label = name.capitalize()
        errors = fn.metric_errors(period=PERIOD, statistic="Sum")
        throttles = fn.metric_throttles(period=PERIOD, statistic="Sum")
        self._any(
            f"{label}Errors", errors, f"The {name} function failed (uncaught error) in the last 5 minutes"
        )
        self._any(f"{label}Throttles", throttles, f"The {name} function was throttled in the last 5 minutes")
        self.add_widgets(
            cw.GraphWidget(
                title=f"{name}: invocations, errors, throttles",
                left=[fn.metric_invocations(period=PERIOD, statistic="Sum"), errors, throttles],
                width=12,
            ),
            cw.GraphWidget(
                title=f"{name}: duration p50 / p99",
                left=[
                    fn.metric_duration(period=PERIOD, statistic="p50"),
                    fn.metric_duration(period=PERIOD, statistic="p99"),
                ],
                width=12,
            ),
        )

    def watch_api(self, api: apigw.RestApi) -> None:
        server_errors = api.metric_server_error(period=PERIOD, statistic="Sum")
        self._any("Api5xx", server_errors, f"The API {api.rest_api_name} answered 5xx in the last 5 minutes")
        self.add_widgets(
            cw.GraphWidget(
                title="API: requests, 4xx, 5xx",
                left=[
                    api.metric_count(period=PERIOD, statistic="Sum"),
                    api.metric_client_error(period=PERIOD, statistic="Sum"),
                    server_errors,
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="API: latency p50 / p99",
                left=[
                    api.metric_latency(period=PERIOD, statistic="p50"),
                    api.metric_latency(period=PERIOD, statistic="p99"),
                ],
                width=12,
            ),
        )
