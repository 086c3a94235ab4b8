"""Command line of the visibility indexer: ``python -m visibility_indexer --help``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from schemas import connection
from streams import metrics, supervision
from visibility_indexer.indexer import IndexerConfig, VisibilityIndexer

log = logging.getLogger("visibility_indexer")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m visibility_indexer",
        description="Index Strom's visibility topic into Elasticsearch.",
    )
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    parser.add_argument("--es-url", default="http://127.0.0.1:9200", help="Elasticsearch URL")
    parser.add_argument("--prefix", default="strom", help="cluster name (topic/index prefix)")
    parser.add_argument("--topic", help="topic to read (default <prefix>.visibility)")
    parser.add_argument("--group", help="consumer group (default <prefix>.visibility-indexer)")
    parser.add_argument("--index", help="index to write (default <prefix>-visibility)")
    parser.add_argument("--batch-size", type=int, default=500, help="most records per bulk")
    parser.add_argument("--log-level", default="INFO", help="logging level")
    metrics.add_port_argument(parser, "visibility indexer")
    connection.add_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the indexer until SIGTERM or SIGINT, then leaves the consumer group cleanly."""
    args = parse_args(argv)
    supervision.dump_stacks_on_sigusr1()
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = IndexerConfig(
        bootstrap=args.bootstrap,
        prefix=args.prefix,
        topic=args.topic,
        group=args.group,
        index=args.index,
        batch_size=args.batch_size,
    )
    lag = [(args.bootstrap, config.group_id, config.topic_name)]
    metrics.serve(args.metrics_port, args.metrics_host, service="visibility_indexer", lag=lag)
    es = connection.from_args(args).client(args.es_url, request_timeout=30)
    indexer = VisibilityIndexer(config, es)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        indexer.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info(
        "indexing %s (group %s) into %s at %s",
        config.topic_name,
        config.group_id,
        config.index_name,
        args.es_url,
    )
    try:
        indexer.run()
    finally:
        indexer.close()
        es.close()
    log.info("stopped after %d documents", indexer.indexed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
