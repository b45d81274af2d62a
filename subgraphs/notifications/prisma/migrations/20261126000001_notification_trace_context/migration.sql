-- The trace context of the event handling that recorded the notification (W3C `traceparent` as JSON), so
-- the delivery job's send continues that event's trace. NULL when tracing was off.

-- AlterTable
ALTER TABLE "notifications" ADD COLUMN "trace_context" JSONB;
