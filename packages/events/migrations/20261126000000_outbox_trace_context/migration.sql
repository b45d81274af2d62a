-- @shop/events: the trace context of the request that wrote each event (W3C `traceparent`/`tracestate` as a
-- JSON object), so the relay's Kafka message continues that trace. NULL when tracing was off.

-- AlterTable
ALTER TABLE "outbox_events" ADD COLUMN "trace_context" JSONB;
