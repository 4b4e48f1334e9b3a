"""Slack for human agents: case messages with buttons, thread relay, and a Redis outbox.

Entry points: build_slack_service (everything wired), build_slack_app, make_slack_router,
SlackSink, SlackOutbox, OutboxWorker, connect_socket_mode.
"""
