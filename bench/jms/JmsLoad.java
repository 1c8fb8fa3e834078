// JMS load generator for side-by-side OpenWire benchmarks (ferromq vs ActiveMQ 5.17).
// One source, plain ActiveMQConnectionFactory, no broker-specific code. Prints ONE JSON line.
//
// Compile and run (bench/jms/run.sh does this):
//   CP=/usr/share/java/activemq-client.jar:/usr/share/java/geronimo-jms_1.1_spec.jar:/usr/share/java/hawtbuf.jar:\
//      /usr/share/java/geronimo-j2ee-management-1.1-spec.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-nop.jar
//   javac -cp "$CP" -d OUT JmsLoad.java && java -cp "$CP:OUT" JmsLoad --url tcp://127.0.0.1:61616 --mode send ...
//
// Modes:
//   send     --producers N [--persistent|--non-persistent] (--duration S | --count C)
//            N producers, one connection + session (AUTO_ACK) + producer each, SIZE-byte BytesMessages.
//            Persistent sends are the JMS default: synchronous (each send waits for the broker's
//            Response, i.e. after its store write). Non-persistent sends are the client's default
//            asynchronous one-way sends; each producer ends with one synchronous persistent send
//            (counted) so messages still sitting in socket buffers are not counted as sent.
//            The clock stops when the last producer's last send returns.
//   fill     --producers N --count C: queue C persistent messages fast (asynchronous persistent
//            sends, useAsyncSend), each producer's last send synchronous (a barrier: the broker
//            handles one connection's commands in order). Not a measurement, but reported.
//   consume  --count C: one consumer, AUTO_ACKNOWLEDGE, default prefetch (1000), drains C messages;
//            clock from createConsumer to the C-th message. Checks for duplicates (producer/seq
//            properties) and, afterwards, that nothing more is delivered within 1 s.
//   latency  --rate R --duration S: 1 producer (persistent or not, sync as JMS does by default)
//            sending at R msg/s + 1 consumer (own connection, AUTO_ACK, MessageListener) on the same
//            queue. Each message carries a long property bench_ts = System.nanoTime() taken right
//            before send(); the consumer records nanoTime() - bench_ts. p50/p99/max over all samples.
import javax.jms.*;
import org.apache.activemq.ActiveMQConnection;
import org.apache.activemq.ActiveMQConnectionFactory;

import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
import java.util.concurrent.locks.LockSupport;

public class JmsLoad {
    static String url = "tcp://127.0.0.1:61616", mode = "send", queue = null;
    static int producers = 1, size = 1024;
    static boolean persistent = true;
    static double duration = 0, rate = 500;
    static long count = 0;
    static long idleTimeoutMs = 30000;

    public static void main(String[] args) throws Exception {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--url": url = args[++i]; break;
                case "--mode": mode = args[++i]; break;
                case "--queue": queue = args[++i]; break;
                case "--producers": producers = Integer.parseInt(args[++i]); break;
                case "--size": size = Integer.parseInt(args[++i]); break;
                case "--persistent": persistent = true; break;
                case "--non-persistent": persistent = false; break;
                case "--duration": duration = Double.parseDouble(args[++i]); break;
                case "--count": count = Long.parseLong(args[++i]); break;
                case "--rate": rate = Double.parseDouble(args[++i]); break;
                case "--idle-timeout": idleTimeoutMs = Long.parseLong(args[++i]); break;
                default: System.err.println("unknown argument " + a); System.exit(2);
            }
        }
        if (queue == null) queue = "jmsbench." + mode + "." + System.nanoTime();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("mode", mode);
        out.put("url", url);
        out.put("queue", queue);
        out.put("size", size);
        int rc = 0;
        try {
            switch (mode) {
                case "send": send(out, false); break;
                case "fill": persistent = true; send(out, true); break;
                case "consume": consume(out); break;
                case "latency": latency(out); break;
                default: throw new IllegalArgumentException("unknown mode " + mode);
            }
        } catch (Throwable t) {
            out.put("error", t.toString());
            rc = 1;
        }
        System.out.println(json(out));
        System.out.flush();
        // Do not let a stuck client thread (e.g. a close() that never returns) keep the JVM alive.
        Runtime.getRuntime().halt(rc);
    }

    static ActiveMQConnectionFactory factory() {
        return new ActiveMQConnectionFactory(url);
    }

    static BytesMessage payload(Session s, byte[] body, int producer, long seq) throws JMSException {
        BytesMessage m = s.createBytesMessage();
        m.writeBytes(body);
        m.setIntProperty("bench_producer", producer);
        m.setLongProperty("bench_seq", seq);
        return m;
    }

    // ------------------------------------------------------------------ send / fill
    static void send(Map<String, Object> out, boolean fill) throws Exception {
        final byte[] body = new byte[size];
        Arrays.fill(body, (byte) 'x');
        final long perProducer = count > 0 ? Math.max(1, count / producers) : Long.MAX_VALUE;
        final AtomicLong sent = new AtomicLong();
        final AtomicReference<Throwable> err = new AtomicReference<>();
        final List<Connection> conns = new ArrayList<>();
        final List<MessageProducer> prods = new ArrayList<>();
        final List<Session> sessions = new ArrayList<>();
        // Connect everything before the clock starts.
        for (int p = 0; p < producers; p++) {
            ActiveMQConnectionFactory f = factory();
            if (fill) f.setUseAsyncSend(true);
            Connection c = f.createConnection();
            c.start();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageProducer mp = s.createProducer(s.createQueue(queue));
            mp.setDeliveryMode(persistent ? DeliveryMode.PERSISTENT : DeliveryMode.NON_PERSISTENT);
            conns.add(c); sessions.add(s); prods.add(mp);
        }
        final CountDownLatch go = new CountDownLatch(1);
        final long[] deadline = {Long.MAX_VALUE};  // set (before go) once everything is connected
        List<Thread> threads = new ArrayList<>();
        final long[] perThread = new long[producers];
        for (int p = 0; p < producers; p++) {
            final int id = p;
            Thread t = new Thread(() -> {
                try {
                    Session s = sessions.get(id);
                    MessageProducer mp = prods.get(id);
                    go.await();
                    long n = 0;
                    while (n < perProducer - 1 && System.nanoTime() < deadline[0] && err.get() == null) {
                        mp.send(payload(s, body, id, n));
                        n++;
                    }
                    // Barrier: one synchronous persistent send. The broker handles a connection's
                    // commands in order, so when it returns every earlier message has reached it.
                    if (fill) ((ActiveMQConnection) conns.get(id)).setUseAsyncSend(false);
                    mp.send(payload(s, body, id, n), DeliveryMode.PERSISTENT, Message.DEFAULT_PRIORITY, 0);
                    n++;
                    perThread[id] = n;
                    sent.addAndGet(n);
                } catch (Throwable t2) {
                    err.compareAndSet(null, t2);
                }
            }, "producer-" + p);
            t.start();
            threads.add(t);
        }
        long t0 = System.nanoTime();
        if (duration > 0) deadline[0] = t0 + (long) (duration * 1e9);
        go.countDown();
        for (Thread t : threads) t.join();
        long t1 = System.nanoTime();
        double secs = (t1 - t0) / 1e9;
        out.put("producers", producers);
        out.put("persistent", persistent);
        out.put("sync_sends", fill ? false : persistent);
        out.put("sent", sent.get());
        out.put("secs", secs);
        out.put("msg_per_sec", sent.get() / secs);
        if (err.get() != null) out.put("error", err.get().toString());
        for (Connection c : conns) closeQuietly(c);
    }

    // ------------------------------------------------------------------ consume
    static void consume(Map<String, Object> out) throws Exception {
        if (count <= 0) throw new IllegalArgumentException("consume needs --count");
        Connection c = factory().createConnection();
        c.start();
        Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
        javax.jms.Queue q = s.createQueue(queue);
        HashSet<Long> seen = new HashSet<>((int) Math.min(count * 2, Integer.MAX_VALUE));
        long dups = 0, received = 0;
        long t0 = System.nanoTime();
        MessageConsumer mc = s.createConsumer(q);
        long tFirst = 0, tLast = t0;
        String stalled = null;
        while (received < count) {
            Message m = mc.receive(idleTimeoutMs);
            if (m == null) { stalled = "no message for " + idleTimeoutMs + " ms after " + received; break; }
            tLast = System.nanoTime();
            if (received == 0) tFirst = tLast;
            received++;
            long key = ((long) m.getIntProperty("bench_producer") << 40) | m.getLongProperty("bench_seq");
            if (!seen.add(key)) dups++;
        }
        double secs = (tLast - t0) / 1e9;
        long extra = 0;
        if (stalled == null) {
            while (mc.receive(1000) != null) extra++;
        }
        out.put("count", count);
        out.put("received", received);
        out.put("duplicates", dups);
        out.put("extra_after_count", extra);
        out.put("secs", secs);
        out.put("first_msg_ms", received > 0 ? (tFirst - t0) / 1e6 : null);
        out.put("msg_per_sec", received / secs);
        if (stalled != null) out.put("error", "stalled: " + stalled);
        closeQuietly(c);
    }

    // ------------------------------------------------------------------ latency
    static void latency(Map<String, Object> out) throws Exception {
        if (duration <= 0) duration = 10;
        final long total = (long) (rate * duration);
        final long[] lat = new long[(int) total];
        final AtomicInteger got = new AtomicInteger();
        final AtomicLong dups = new AtomicLong();
        final BitSet seen = new BitSet((int) total);
        final CountDownLatch all = new CountDownLatch(1);
        final AtomicReference<Throwable> err = new AtomicReference<>();
        final AtomicLong lastArrival = new AtomicLong();

        Connection cc = factory().createConnection();
        Session cs = cc.createSession(false, Session.AUTO_ACKNOWLEDGE);
        MessageConsumer mc = cs.createConsumer(cs.createQueue(queue));
        mc.setMessageListener(m -> {
            long now = System.nanoTime();
            try {
                long seq = m.getLongProperty("bench_seq");
                synchronized (seen) {
                    if (seen.get((int) seq)) { dups.incrementAndGet(); return; }
                    seen.set((int) seq);
                }
                int i = got.getAndIncrement();
                if (i < lat.length) lat[i] = now - m.getLongProperty("bench_ts");
                lastArrival.set(now);
                if (i + 1 >= total) all.countDown();
            } catch (Throwable t) {
                err.compareAndSet(null, t);
            }
        });
        cc.start();

        Connection pc = factory().createConnection();
        pc.start();
        Session ps = pc.createSession(false, Session.AUTO_ACKNOWLEDGE);
        MessageProducer mp = ps.createProducer(ps.createQueue(queue));
        mp.setDeliveryMode(persistent ? DeliveryMode.PERSISTENT : DeliveryMode.NON_PERSISTENT);
        byte[] body = new byte[size];
        Arrays.fill(body, (byte) 'x');
        long interval = (long) (1e9 / rate);
        long t0 = System.nanoTime();
        long behind = 0;
        for (long i = 0; i < total; i++) {
            long due = t0 + i * interval;
            long now;
            while ((now = System.nanoTime()) < due) {
                long d = due - now;
                if (d > 150_000) LockSupport.parkNanos(d - 100_000);  // sleep, then spin the last 100 us
                else Thread.onSpinWait();
            }
            if (now - due > interval) behind++;
            BytesMessage m = ps.createBytesMessage();
            m.writeBytes(body);
            m.setIntProperty("bench_producer", 0);
            m.setLongProperty("bench_seq", i);
            m.setLongProperty("bench_ts", System.nanoTime());
            mp.send(m);
        }
        long tSent = System.nanoTime();
        boolean complete = all.await(idleTimeoutMs, TimeUnit.MILLISECONDS);
        int n = Math.min(got.get(), lat.length);
        long[] l = Arrays.copyOf(lat, n);
        Arrays.sort(l);
        out.put("rate_target", rate);
        out.put("persistent", persistent);
        out.put("sent", total);
        out.put("sent_per_sec", total / ((tSent - t0) / 1e9));
        out.put("sends_late", behind);
        out.put("received", got.get());
        // From the first send to the last arrival: the rate messages went through the broker.
        if (got.get() > 0) out.put("received_per_sec", got.get() / ((lastArrival.get() - t0) / 1e9));
        out.put("missing", total - got.get());
        out.put("duplicates", dups.get());
        out.put("p50_ms", n > 0 ? l[(int) Math.min(n - 1, Math.ceil(n * 0.50) - 1)] / 1e6 : null);
        out.put("p99_ms", n > 0 ? l[(int) Math.min(n - 1, Math.ceil(n * 0.99) - 1)] / 1e6 : null);
        out.put("max_ms", n > 0 ? l[n - 1] / 1e6 : null);
        if (!complete) out.put("error", "only " + got.get() + " of " + total + " received " + idleTimeoutMs + " ms after the last send");
        if (err.get() != null) out.put("error", err.get().toString());
        closeQuietly(pc);
        closeQuietly(cc);
    }

    // ------------------------------------------------------------------ helpers
    static void closeQuietly(Connection c) {
        // close() waits for the broker's answers; bound it so a broker that never answers cannot
        // hang the run (the JSON line is printed anyway).
        Thread t = new Thread(() -> { try { c.close(); } catch (Throwable ignored) { } });
        t.setDaemon(true);
        t.start();
        try { t.join(10000); } catch (InterruptedException ignored) { }
    }

    static String json(Map<String, Object> m) {
        StringBuilder b = new StringBuilder("{");
        boolean first = true;
        for (Map.Entry<String, Object> e : m.entrySet()) {
            if (!first) b.append(',');
            first = false;
            b.append('"').append(e.getKey()).append("\":");
            Object v = e.getValue();
            if (v == null) b.append("null");
            else if (v instanceof Number || v instanceof Boolean) {
                if (v instanceof Double) {
                    double d = (Double) v;
                    b.append(Double.isFinite(d) ? String.format(Locale.ROOT, "%.3f", d) : "null");
                } else b.append(v);
            } else {
                b.append('"');
                for (char ch : v.toString().toCharArray()) {
                    if (ch == '"' || ch == '\\') b.append('\\').append(ch);
                    else if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
                    else b.append(ch);
                }
                b.append('"');
            }
        }
        return b.append('}').toString();
    }
}
