import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import javax.jms.BytesMessage;
import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.Destination;
import javax.jms.JMSException;
import javax.jms.MapMessage;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.ObjectMessage;
import javax.jms.Queue;
import javax.jms.QueueBrowser;
import javax.jms.Session;
import javax.jms.StreamMessage;
import javax.jms.TemporaryQueue;
import javax.jms.TemporaryTopic;
import javax.jms.TextMessage;
import javax.jms.Topic;
import javax.jms.TopicSubscriber;
import javax.jms.XAConnection;
import javax.jms.XASession;
import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;

import org.apache.activemq.ActiveMQConnection;
import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.ActiveMQSession;
import org.apache.activemq.ActiveMQXAConnectionFactory;
import org.apache.activemq.RedeliveryPolicy;

/**
 * JMS 1.1 feature suite for an OpenWire broker, on the real ActiveMQ Classic client.
 *
 * usage: java JmsSuite BROKER_URL [TEST_NAME...]
 *
 * BROKER_URL is a plain client URL such as tcp://127.0.0.1:61616; tests append their own
 * options (jms.prefetchPolicy.all=0, ...). Every test runs on its own daemon thread with a
 * per-test timeout, so a broker that never answers gives "FAIL name: timed out" instead of a
 * hang. Prints "PASS name" or "FAIL name: reason" per test, then a summary line; exits 1 when
 * any test failed. Every test uses destination names unique to this run, and counts are exact.
 */
public class JmsSuite {

    /** Per-test budget; generous, a healthy broker needs well under a second per test. */
    static final long TEST_TIMEOUT_MS = Long.getLong("jmssuite.testTimeoutMs", 30000L);
    /** How long a receive waits for a message that must arrive. */
    static final long RECEIVE_MS = 5000;
    /** How long a receive waits to show that no (further) message is there. */
    static final long ABSENT_MS = 700;

    interface Body {
        void run() throws Exception;
    }

    static String baseUrl;
    static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    static final Map<String, Body> TESTS = new LinkedHashMap<>();
    /** Connections opened by the running test; closed after it whatever the outcome. */
    static final List<Connection> OPEN = Collections.synchronizedList(new ArrayList<>());

    // ------------------------------------------------------------------ runner

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: java JmsSuite BROKER_URL [TEST_NAME...]");
            System.exit(2);
        }
        baseUrl = args[0];
        register();
        List<String> names = new ArrayList<>();
        if (args.length > 1) {
            for (int i = 1; i < args.length; i++) {
                if (!TESTS.containsKey(args[i])) {
                    System.err.println("unknown test " + args[i] + "; known: " + TESTS.keySet());
                    System.exit(2);
                }
                names.add(args[i]);
            }
        } else {
            names.addAll(TESTS.keySet());
        }
        System.out.println("JmsSuite run " + RUN + " against " + baseUrl + ": " + names.size() + " tests");
        List<String> failed = new ArrayList<>();
        for (String name : names) {
            long t0 = System.nanoTime();
            String failure = runOne(name, TESTS.get(name));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            if (failure == null) {
                System.out.println("PASS " + name + " (" + ms + " ms)");
            } else {
                failed.add(name);
                System.out.println("FAIL " + name + ": " + failure + " (" + ms + " ms)");
                if (name.equals("connect")) {
                    // Nothing else can work; do not spend a timeout per test on it.
                    for (String rest : names) {
                        if (!rest.equals("connect")) {
                            failed.add(rest);
                            System.out.println("FAIL " + rest + ": skipped, connect failed");
                        }
                    }
                    break;
                }
            }
            System.out.flush();
        }
        System.out.println("SUMMARY " + (names.size() - failed.size()) + " passed, " + failed.size()
                + " failed" + (failed.isEmpty() ? "" : ": " + failed));
        System.out.flush();
        // ActiveMQ's transport threads are not daemons; a hung test may hold some.
        System.exit(failed.isEmpty() ? 0 : 1);
    }

    static String runOne(String name, Body body) {
        ExecutorService ex = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "test-" + name);
            t.setDaemon(true);
            return t;
        });
        Future<?> f = ex.submit(() -> {
            body.run();
            return null;
        });
        String failure = null;
        try {
            f.get(TEST_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            failure = "timed out after " + TEST_TIMEOUT_MS + " ms";
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            failure = c.getClass().getSimpleName() + ": " + c.getMessage();
            if (!(c instanceof AssertionError)) {
                Throwable root = c;
                while (root.getCause() != null && root.getCause() != root) {
                    root = root.getCause();
                }
                if (root != c) {
                    failure += " (cause " + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
                }
            }
        } catch (InterruptedException e) {
            failure = "interrupted";
        }
        ex.shutdownNow();
        closeAll();
        return failure;
    }

    static void closeAll() {
        List<Connection> open;
        synchronized (OPEN) {
            open = new ArrayList<>(OPEN);
            OPEN.clear();
        }
        for (Connection c : open) {
            // close() itself could block on a dead broker: do it off-thread, bounded.
            Thread t = new Thread(() -> {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // best effort
                }
            });
            t.setDaemon(true);
            t.start();
            try {
                t.join(5000);
            } catch (InterruptedException ignored) {
                return;
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    static String url(String options) {
        if (options == null || options.isEmpty()) {
            return baseUrl;
        }
        return baseUrl + (baseUrl.contains("?") ? "&" : "?") + options;
    }

    static ActiveMQConnectionFactory factory(String options) {
        return new ActiveMQConnectionFactory(url(options));
    }

    static Connection connect() throws JMSException {
        return connect(factory(null));
    }

    static Connection connect(String options) throws JMSException {
        return connect(factory(options));
    }

    static Connection connect(ActiveMQConnectionFactory f) throws JMSException {
        Connection c = f.createConnection();
        OPEN.add(c);
        c.start();
        return c;
    }

    /** A destination name unique to this run and test. */
    static String name(String test) {
        return "jmssuite." + RUN + "." + test;
    }

    static void check(boolean cond, String what) {
        if (!cond) {
            throw new AssertionError(what);
        }
    }

    static void eq(Object expected, Object actual, String what) {
        if (expected == null ? actual != null : !expected.equals(actual)) {
            throw new AssertionError(what + ": expected <" + expected + "> but was <" + actual + ">");
        }
    }

    static Message must(MessageConsumer c, String what) throws JMSException {
        Message m = c.receive(RECEIVE_MS);
        check(m != null, what + ": no message within " + RECEIVE_MS + " ms");
        return m;
    }

    static String mustText(MessageConsumer c, String what) throws JMSException {
        Message m = must(c, what);
        check(m instanceof TextMessage, what + ": not a TextMessage: " + m.getClass().getName());
        return ((TextMessage) m).getText();
    }

    static void none(MessageConsumer c, String what) throws JMSException {
        Message m = c.receive(ABSENT_MS);
        check(m == null, what + ": unexpected message " + describe(m));
    }

    static String describe(Message m) throws JMSException {
        if (m == null) {
            return "null";
        }
        if (m instanceof TextMessage) {
            return "'" + ((TextMessage) m).getText() + "'";
        }
        return m.getClass().getSimpleName() + " " + m.getJMSMessageID();
    }

    static void sendTexts(Session s, Destination d, String prefix, int n) throws JMSException {
        MessageProducer p = s.createProducer(d);
        for (int i = 1; i <= n; i++) {
            p.send(s.createTextMessage(prefix + i));
        }
        p.close();
    }

    /** Receives until `timeout` passes without a message; returns the texts. */
    static List<String> drain(MessageConsumer c, long timeout) throws JMSException {
        List<String> out = new ArrayList<>();
        while (true) {
            Message m = c.receive(timeout);
            if (m == null) {
                return out;
            }
            out.add(((TextMessage) m).getText());
        }
    }

    static List<String> expected(String prefix, int from, int to) {
        List<String> l = new ArrayList<>();
        for (int i = from; i <= to; i++) {
            l.add(prefix + i);
        }
        return l;
    }

    /**
     * No NUL and no supplementary characters (emoji): the 5.17 client itself mangles those in
     * property strings, against ActiveMQ too (checked); message bodies carry them fine.
     */
    static final String PROPERTY_STRING = "h\u00e9llo \u4e16\u754c \u20ac";

    static void setAllProperties(Message m) throws JMSException {
        m.setBooleanProperty("pBoolean", true);
        m.setByteProperty("pByte", (byte) -7);
        m.setShortProperty("pShort", (short) -30000);
        m.setIntProperty("pInt", 2_000_000_000);
        m.setLongProperty("pLong", 9_000_000_000_000_000_000L);
        m.setFloatProperty("pFloat", 3.25f);
        m.setDoubleProperty("pDouble", -1.0e300);
        m.setStringProperty("pString", PROPERTY_STRING);
        m.setObjectProperty("pObjectInt", Integer.valueOf(42));
    }

    static void checkAllProperties(Message m) throws JMSException {
        eq(Boolean.TRUE, m.getObjectProperty("pBoolean"), "boolean property");
        eq(Byte.valueOf((byte) -7), m.getObjectProperty("pByte"), "byte property");
        eq(Short.valueOf((short) -30000), m.getObjectProperty("pShort"), "short property");
        eq(Integer.valueOf(2_000_000_000), m.getObjectProperty("pInt"), "int property");
        eq(Long.valueOf(9_000_000_000_000_000_000L), m.getObjectProperty("pLong"), "long property");
        eq(Float.valueOf(3.25f), m.getObjectProperty("pFloat"), "float property");
        eq(Double.valueOf(-1.0e300), m.getObjectProperty("pDouble"), "double property");
        eq(PROPERTY_STRING, m.getObjectProperty("pString"), "string property");
        eq(Integer.valueOf(42), m.getObjectProperty("pObjectInt"), "object(int) property");
        Set<String> names = new HashSet<>();
        for (Enumeration<?> e = m.getPropertyNames(); e.hasMoreElements();) {
            names.add((String) e.nextElement());
        }
        for (String n : Arrays.asList("pBoolean", "pByte", "pShort", "pInt", "pLong", "pFloat", "pDouble",
                "pString", "pObjectInt")) {
            check(names.contains(n), "getPropertyNames lacks " + n + ": " + names);
        }
    }

    /** Sends one message with every property type and checks it on receipt; returns it. */
    static Message roundTrip(String test, MessageMaker maker) throws Exception {
        Connection c = connect();
        Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
        Queue q = s.createQueue(name(test));
        MessageConsumer consumer = s.createConsumer(q);
        Message m = maker.make(s);
        setAllProperties(m);
        s.createProducer(q).send(m);
        Message r = must(consumer, test);
        checkAllProperties(r);
        none(consumer, test + " (exactly one)");
        return r;
    }

    interface MessageMaker {
        Message make(Session s) throws Exception;
    }

    /** A serialisable body for ObjectMessage; the broker must pass its bytes through. */
    public static class Payload implements Serializable {
        private static final long serialVersionUID = 1L;
        public final String name;
        public final int[] numbers;

        public Payload(String name, int[] numbers) {
            this.name = name;
            this.numbers = numbers;
        }
    }

    static class TestXid implements Xid {
        final byte[] gtrid;
        final byte[] bqual;

        TestXid(String g) {
            gtrid = g.getBytes();
            bqual = new byte[] { 1 };
        }

        public int getFormatId() {
            return 4660;
        }

        public byte[] getGlobalTransactionId() {
            return gtrid;
        }

        public byte[] getBranchQualifier() {
            return bqual;
        }
    }

    static void t(String name, Body b) {
        TESTS.put(name, b);
    }

    // ------------------------------------------------------------------ tests

    static void register() {
        t("connect", () -> {
            Connection c = connect();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            s.close();
        });

        t("textMessageWithEveryPropertyType", () -> {
            String body = "text \u00e9\u00e8 \u4e16\u754c \ud83d\ude00 nul[\u0000] end";
            Message r = roundTrip("text", s -> s.createTextMessage(body));
            check(r instanceof TextMessage, "not a TextMessage");
            eq(body, ((TextMessage) r).getText(), "text body");
        });

        t("emptyAndNullTextBodies", () -> {
            Connection c = connect();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(name("emptytext"));
            MessageConsumer consumer = s.createConsumer(q);
            MessageProducer p = s.createProducer(q);
            p.send(s.createTextMessage(""));
            p.send(s.createTextMessage(null));
            eq("", ((TextMessage) must(consumer, "empty")).getText(), "empty body");
            eq(null, ((TextMessage) must(consumer, "null")).getText(), "null body");
        });

        t("bytesMessageWithEveryPropertyType", () -> {
            byte[] body = new byte[256];
            for (int i = 0; i < body.length; i++) {
                body[i] = (byte) i;
            }
            Message r = roundTrip("bytes", s -> {
                BytesMessage m = s.createBytesMessage();
                m.writeBytes(body);
                return m;
            });
            check(r instanceof BytesMessage, "not a BytesMessage");
            BytesMessage b = (BytesMessage) r;
            eq(Long.valueOf(256), Long.valueOf(b.getBodyLength()), "body length");
            byte[] got = new byte[256];
            eq(Integer.valueOf(256), Integer.valueOf(b.readBytes(got)), "bytes read");
            check(Arrays.equals(body, got), "body bytes differ");
        });

        t("largeBytesMessage", () -> {
            byte[] body = new byte[4 * 1024 * 1024];
            new java.util.Random(7).nextBytes(body);
            Connection c = connect();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(name("large"));
            MessageConsumer consumer = s.createConsumer(q);
            BytesMessage m = s.createBytesMessage();
            m.writeBytes(body);
            s.createProducer(q).send(m);
            BytesMessage r = (BytesMessage) must(consumer, "large");
            eq(Long.valueOf(body.length), Long.valueOf(r.getBodyLength()), "body length");
            byte[] got = new byte[body.length];
            r.readBytes(got);
            check(Arrays.equals(body, got), "4 MiB body differs");
        });

        t("mapMessageWithEveryPropertyType", () -> {
            Message r = roundTrip("map", s -> {
                MapMessage m = s.createMapMessage();
                m.setBoolean("b", false);
                m.setByte("y", (byte) 1);
                m.setShort("s", (short) 2);
                m.setChar("c", '\u00e9');
                m.setInt("i", -3);
                m.setLong("l", 4L << 40);
                m.setFloat("f", 5.5f);
                m.setDouble("d", 6.25);
                m.setString("str", "seven \u20ac"); // map strings share the property encoding: no emoji
                m.setBytes("bytes", new byte[] { 8, 9, 10 });
                return m;
            });
            check(r instanceof MapMessage, "not a MapMessage");
            MapMessage m = (MapMessage) r;
            eq(Boolean.FALSE, m.getObject("b"), "boolean");
            eq(Byte.valueOf((byte) 1), m.getObject("y"), "byte");
            eq(Short.valueOf((short) 2), m.getObject("s"), "short");
            eq(Character.valueOf('\u00e9'), m.getObject("c"), "char");
            eq(Integer.valueOf(-3), m.getObject("i"), "int");
            eq(Long.valueOf(4L << 40), m.getObject("l"), "long");
            eq(Float.valueOf(5.5f), m.getObject("f"), "float");
            eq(Double.valueOf(6.25), m.getObject("d"), "double");
            eq("seven \u20ac", m.getObject("str"), "string");
            check(Arrays.equals(new byte[] { 8, 9, 10 }, m.getBytes("bytes")), "bytes");
        });

        t("streamMessageWithEveryPropertyType", () -> {
            Message r = roundTrip("stream", s -> {
                StreamMessage m = s.createStreamMessage();
                m.writeBoolean(true);
                m.writeByte((byte) -1);
                m.writeShort((short) 300);
                m.writeChar('x');
                m.writeInt(123456);
                m.writeLong(-99L);
                m.writeFloat(1.5f);
                m.writeDouble(2.75);
                m.writeString("four \ud83d\ude00");
                m.writeBytes(new byte[] { 1, 2, 3 });
                m.writeObject(null);
                return m;
            });
            check(r instanceof StreamMessage, "not a StreamMessage");
            StreamMessage m = (StreamMessage) r;
            eq(Boolean.TRUE, m.readObject(), "boolean");
            eq(Byte.valueOf((byte) -1), m.readObject(), "byte");
            eq(Short.valueOf((short) 300), m.readObject(), "short");
            eq(Character.valueOf('x'), m.readObject(), "char");
            eq(Integer.valueOf(123456), m.readObject(), "int");
            eq(Long.valueOf(-99L), m.readObject(), "long");
            eq(Float.valueOf(1.5f), m.readObject(), "float");
            eq(Double.valueOf(2.75), m.readObject(), "double");
            eq("four \ud83d\ude00", m.readObject(), "string");
            check(Arrays.equals(new byte[] { 1, 2, 3 }, (byte[]) m.readObject()), "bytes");
            eq(null, m.readObject(), "null");
        });

        t("objectMessageWithEveryPropertyType", () -> {
            ActiveMQConnectionFactory f = factory(null);
            f.setTrustAllPackages(true);
            Connection c = connect(f);
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(name("object"));
            MessageConsumer consumer = s.createConsumer(q);
            ObjectMessage m = s.createObjectMessage(new Payload("payload \ud83d\ude00", new int[] { 1, 1, 2, 3, 5 }));
            setAllProperties(m);
            s.createProducer(q).send(m);
            Message r = must(consumer, "object");
            checkAllProperties(r);
            check(r instanceof ObjectMessage, "not an ObjectMessage");
            Payload p = (Payload) ((ObjectMessage) r).getObject();
            eq("payload \ud83d\ude00", p.name, "payload name");
            check(Arrays.equals(new int[] { 1, 1, 2, 3, 5 }, p.numbers), "payload numbers");
        });

        t("headersPassThrough", () -> {
            Connection c = connect();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(name("headers"));
            Queue replyTo = s.createQueue(name("headers.reply"));
            Topic replyTopic = s.createTopic(name("headers.replytopic"));
            MessageConsumer consumer = s.createConsumer(q);
            MessageProducer p = s.createProducer(q);
            TextMessage m = s.createTextMessage("headers");
            m.setJMSCorrelationID("corr-" + RUN);
            m.setJMSReplyTo(replyTo);
            m.setJMSType("order.created");
            long before = System.currentTimeMillis();
            p.send(m, DeliveryMode.PERSISTENT, 7, 60000);
            TextMessage m2 = s.createTextMessage("headers-2");
            m2.setJMSReplyTo(replyTopic);
            p.send(m2, DeliveryMode.NON_PERSISTENT, 2, 0);
            long after = System.currentTimeMillis();

            Message r = must(consumer, "headers");
            eq("headers", ((TextMessage) r).getText(), "body");
            eq("corr-" + RUN, r.getJMSCorrelationID(), "JMSCorrelationID");
            eq(replyTo, r.getJMSReplyTo(), "JMSReplyTo");
            eq("order.created", r.getJMSType(), "JMSType");
            eq(Integer.valueOf(7), Integer.valueOf(r.getJMSPriority()), "JMSPriority");
            eq(Integer.valueOf(DeliveryMode.PERSISTENT), Integer.valueOf(r.getJMSDeliveryMode()), "JMSDeliveryMode");
            check(r.getJMSExpiration() >= before + 60000 && r.getJMSExpiration() <= after + 60000,
                    "JMSExpiration " + r.getJMSExpiration() + " not send time + 60000");
            check(r.getJMSTimestamp() >= before - 1000 && r.getJMSTimestamp() <= after + 1000,
                    "JMSTimestamp " + r.getJMSTimestamp());
            eq(Boolean.FALSE, Boolean.valueOf(r.getJMSRedelivered()), "JMSRedelivered on first delivery");
            check(r.getJMSMessageID() != null && r.getJMSMessageID().startsWith("ID:"),
                    "JMSMessageID " + r.getJMSMessageID());
            eq(q, r.getJMSDestination(), "JMSDestination");

            Message r2 = must(consumer, "headers-2");
            eq("headers-2", ((TextMessage) r2).getText(), "body 2");
            eq(Integer.valueOf(DeliveryMode.NON_PERSISTENT), Integer.valueOf(r2.getJMSDeliveryMode()),
                    "JMSDeliveryMode 2");
            eq(Integer.valueOf(2), Integer.valueOf(r2.getJMSPriority()), "JMSPriority 2");
            eq(Long.valueOf(0), Long.valueOf(r2.getJMSExpiration()), "JMSExpiration 2");
            eq(replyTopic, r2.getJMSReplyTo(), "JMSReplyTo topic");
            check(!r.getJMSMessageID().equals(r2.getJMSMessageID()), "message ids must differ");
        });

        t("expiredMessageIsNotDelivered", () -> {
            Connection c = connect();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(name("expiry"));
            MessageProducer p = s.createProducer(q);
            p.send(s.createTextMessage("short-lived"), DeliveryMode.PERSISTENT, 4, 200);
            p.send(s.createTextMessage("long-lived"), DeliveryMode.PERSISTENT, 4, 600000);
            Thread.sleep(600);
            MessageConsumer consumer = s.createConsumer(q);
            eq("long-lived", mustText(consumer, "expiry"), "only the unexpired message");
            none(consumer, "expiry");
        });

        t("queueKeepsOrderAndExactCount", () -> {
            Connection c = connect();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(name("order"));
            sendTexts(s, q, "m-", 200);
            MessageConsumer consumer = s.createConsumer(q);
            eq(expected("m-", 1, 200), drain(consumer, ABSENT_MS), "received");
        });

        t("queueCompetingConsumersShareWithoutDuplicates", () -> {
            Connection c = connect("jms.prefetchPolicy.all=1");
            Session s1 = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Session s2 = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = s1.createQueue(name("competing"));
            MessageConsumer a = s1.createConsumer(q);
            MessageConsumer b = s2.createConsumer(q);
            sendTexts(s1, q, "c-", 40);
            List<String> all = new ArrayList<>();
            int fromA = 0;
            int fromB = 0;
            while (true) {
                Message ma = a.receive(ABSENT_MS);
                Message mb = b.receive(ABSENT_MS);
                if (ma != null) {
                    all.add(((TextMessage) ma).getText());
                    fromA++;
                }
                if (mb != null) {
                    all.add(((TextMessage) mb).getText());
                    fromB++;
                }
                if (ma == null && mb == null) {
                    break;
                }
            }
            Collections.sort(all);
            List<String> want = expected("c-", 1, 40);
            Collections.sort(want);
            eq(want, all, "union of both consumers");
            check(fromA > 0 && fromB > 0, "both consumers got messages (a=" + fromA + ", b=" + fromB + ")");
        });

        t("topicFansOutToEverySubscriber", () -> {
            Connection c = connect();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Topic t = s.createTopic(name("topic"));
            MessageConsumer a = s.createConsumer(t);
            MessageConsumer b = c.createSession(false, Session.AUTO_ACKNOWLEDGE).createConsumer(t);
            MessageConsumer red = c.createSession(false, Session.AUTO_ACKNOWLEDGE).createConsumer(t, "color = 'red'");
            MessageProducer p = s.createProducer(t);
            for (int i = 1; i <= 10; i++) {
                TextMessage m = s.createTextMessage("t-" + i);
                m.setStringProperty("color", i % 2 == 0 ? "red" : "blue");
                p.send(m);
            }
            eq(expected("t-", 1, 10), drain(a, ABSENT_MS), "subscriber a");
            eq(expected("t-", 1, 10), drain(b, ABSENT_MS), "subscriber b");
            eq(Arrays.asList("t-2", "t-4", "t-6", "t-8", "t-10"), drain(red, ABSENT_MS), "selector subscriber");
            // A subscriber that arrives later does not see earlier messages.
            MessageConsumer late = s.createConsumer(t);
            none(late, "late subscriber");
        });

        t("messageListenerReceivesAll", () -> {
            Connection c = connect();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(name("listener"));
            List<String> got = Collections.synchronizedList(new ArrayList<>());
            CountDownLatch latch = new CountDownLatch(50);
            Session ls = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            ls.createConsumer(q).setMessageListener(m -> {
                try {
                    got.add(((TextMessage) m).getText());
                } catch (JMSException e) {
                    got.add("error " + e);
                }
                latch.countDown();
            });
            sendTexts(s, q, "l-", 50);
            check(latch.await(RECEIVE_MS * 2, TimeUnit.MILLISECONDS), "listener got only " + got.size());
            Thread.sleep(ABSENT_MS);
            eq(expected("l-", 1, 50), new ArrayList<>(got), "listener messages");
        });

        t("temporaryQueueRequestReplyAcrossConnections", () -> {
            Connection requester = connect();
            Connection responder = connect();
            Session rs = requester.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Session ss = responder.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue service = rs.createQueue(name("service"));
            MessageConsumer serviceConsumer = ss.createConsumer(service);
            MessageProducer replier = ss.createProducer(null);
            TemporaryQueue replyQ = rs.createTemporaryQueue();
            MessageConsumer replies = rs.createConsumer(replyQ);
            MessageProducer requests = rs.createProducer(service);
            for (int i = 1; i <= 3; i++) {
                TextMessage req = rs.createTextMessage("request-" + i);
                req.setJMSReplyTo(replyQ);
                req.setJMSCorrelationID("cid-" + i);
                requests.send(req);

                Message in = must(serviceConsumer, "request " + i);
                eq("request-" + i, ((TextMessage) in).getText(), "request body");
                Destination back = in.getJMSReplyTo();
                check(back instanceof TemporaryQueue, "JMSReplyTo is not a TemporaryQueue: " + back);
                TextMessage reply = ss.createTextMessage("reply-" + i);
                reply.setJMSCorrelationID(in.getJMSCorrelationID());
                replier.send(back, reply);

                Message out = must(replies, "reply " + i);
                eq("reply-" + i, ((TextMessage) out).getText(), "reply body");
                eq("cid-" + i, out.getJMSCorrelationID(), "reply correlation id");
            }
            // A temporary topic works the same way. It reaches the responder as the
            // JMSReplyTo of a request, as in real request/reply: the client refuses to send
            // to a temporary destination its connection has not yet heard of on the advisory
            // topic, and only a message that follows the advisory on the responder's own
            // connection orders the two (handing the Java object straight to the other
            // connection races the advisory, against ActiveMQ too).
            TemporaryTopic tt = rs.createTemporaryTopic();
            MessageConsumer tc = rs.createConsumer(tt);
            TextMessage topicReq = rs.createTextMessage("request-topic");
            topicReq.setJMSReplyTo(tt);
            requests.send(topicReq);
            Message topicIn = must(serviceConsumer, "temp topic request");
            Destination topicBack = topicIn.getJMSReplyTo();
            check(topicBack instanceof TemporaryTopic, "JMSReplyTo is not a TemporaryTopic: " + topicBack);
            replier.send(topicBack, ss.createTextMessage("to-temp-topic"));
            eq("to-temp-topic", mustText(tc, "temp topic"), "temp topic body");
            replies.close();
            replyQ.delete();
        });

        t("durableSubscriberWithSelectorAndUnsubscribe", () -> {
            String topicName = name("durable");
            String clientId = "jmssuite-" + RUN + "-durable";
            String sub = "sub-" + RUN;

            Connection c1 = factory(null).createConnection();
            OPEN.add(c1);
            c1.setClientID(clientId);
            c1.start();
            Session s1 = c1.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Topic t = s1.createTopic(topicName);
            TopicSubscriber ds = s1.createDurableSubscriber(t, sub, "color = 'red'", false);
            MessageProducer p = s1.createProducer(t);
            TextMessage live = s1.createTextMessage("live-red");
            live.setStringProperty("color", "red");
            p.send(live);
            eq("live-red", mustText(ds, "online delivery"), "online");
            ds.close();
            // Offline: only the red ones are kept for the subscription.
            for (int i = 1; i <= 6; i++) {
                TextMessage m = s1.createTextMessage("off-" + i);
                m.setStringProperty("color", i % 2 == 0 ? "red" : "blue");
                p.send(m);
            }
            c1.close();

            Connection c2 = factory(null).createConnection();
            OPEN.add(c2);
            c2.setClientID(clientId);
            c2.start();
            Session s2 = c2.createSession(false, Session.AUTO_ACKNOWLEDGE);
            TopicSubscriber again = s2.createDurableSubscriber(s2.createTopic(topicName), sub, "color = 'red'", false);
            eq(Arrays.asList("off-2", "off-4", "off-6"), drain(again, ABSENT_MS * 2), "kept while offline");
            again.close();
            s2.unsubscribe(sub);
            MessageProducer p2 = s2.createProducer(s2.createTopic(topicName));
            TextMessage gone = s2.createTextMessage("after-unsubscribe");
            gone.setStringProperty("color", "red");
            p2.send(gone);
            // A new subscription with the same name starts empty.
            TopicSubscriber fresh = s2.createDurableSubscriber(s2.createTopic(topicName), sub, "color = 'red'", false);
            none(fresh, "after unsubscribe");
            fresh.close();
            s2.unsubscribe(sub);
        });

        t("durableSubscriberWithoutClientIdIsRefused", () -> {
            Connection c = connect();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            try {
                s.createDurableSubscriber(s.createTopic(name("noclientid")), "x");
                throw new AssertionError("createDurableSubscriber without a clientID succeeded");
            } catch (JMSException expectedFailure) {
                // the client refuses this itself (javax.jms.IllegalStateException)
            }
        });

        t("selectorsOnPropertiesAndHeaders", () -> {
            Connection c = connect();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(name("selectors"));
            MessageProducer p = s.createProducer(q);
            String[] kinds = { "a", "b", "c" };
            for (int i = 1; i <= 30; i++) {
                TextMessage m = s.createTextMessage("s-" + i);
                m.setStringProperty("kind", kinds[i % 3]);
                m.setIntProperty("n", i);
                m.setDoubleProperty("price", i * 1.5);
                m.setBooleanProperty("flag", i % 2 == 0);
                if (i % 5 == 0) {
                    m.setStringProperty("note", "five-" + i);
                }
                m.setJMSType(i <= 15 ? "low" : "high");
                p.send(m, DeliveryMode.PERSISTENT, i % 10, 0);
            }
            Map<String, List<String>> cases = new LinkedHashMap<>();
            cases.put("kind = 'a' AND n > 10", Arrays.asList("s-12", "s-15", "s-18", "s-21", "s-24", "s-27", "s-30"));
            cases.put("n BETWEEN 3 AND 5 OR kind IN ('x', 'b') AND n > 27", Arrays.asList("s-3", "s-4", "s-5", "s-28"));
            cases.put("note LIKE 'five-1%'", Arrays.asList("s-10", "s-15"));
            cases.put("JMSType = 'high' AND flag AND price > 40", Arrays.asList("s-28", "s-30"));
            cases.put("JMSPriority = 9", Arrays.asList("s-9", "s-19", "s-29"));
            cases.put("note IS NOT NULL AND NOT (kind = 'b')", Arrays.asList("s-5", "s-15", "s-20", "s-30"));
            Set<String> taken = new HashSet<>();
            for (Map.Entry<String, List<String>> e : cases.entrySet()) {
                MessageConsumer sc = s.createConsumer(q, e.getKey());
                List<String> got = drain(sc, ABSENT_MS);
                sc.close();
                // Earlier selectors consumed some; expect the rest.
                List<String> want = new ArrayList<>();
                for (String w : e.getValue()) {
                    if (!taken.contains(w)) {
                        want.add(w);
                    }
                }
                // Priorities differ (JMSPriority is selected on below) and a broker may
                // deliver higher priorities first, so compare without order.
                List<String> gotSorted = new ArrayList<>(got);
                Collections.sort(gotSorted);
                Collections.sort(want);
                eq(want, gotSorted, "selector [" + e.getKey() + "]");
                taken.addAll(got);
            }
            MessageConsumer rest = s.createConsumer(q);
            List<String> remaining = drain(rest, ABSENT_MS);
            eq(Integer.valueOf(30 - taken.size()), Integer.valueOf(remaining.size()), "unselected messages left");
            for (String r : remaining) {
                check(!taken.contains(r), "consumed twice: " + r);
            }
        });

        t("invalidSelectorIsRefused", () -> {
            Connection c = connect();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            try {
                s.createConsumer(s.createQueue(name("badselector")), "kind = = 'x'");
                throw new AssertionError("an invalid selector was accepted");
            } catch (javax.jms.InvalidSelectorException expectedFailure) {
                // good
            }
        });

        t("autoAcknowledgeConsumesOnReceive", () -> {
            Connection c = connect();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(name("auto"));
            sendTexts(s, q, "a-", 6);
            Connection c2 = connect("jms.prefetchPolicy.all=1");
            MessageConsumer consumer = c2.createSession(false, Session.AUTO_ACKNOWLEDGE).createConsumer(q);
            eq(expected("a-", 1, 3), Arrays.asList(mustText(consumer, "1"), mustText(consumer, "2"),
                    mustText(consumer, "3")), "first three");
            c2.close();
            MessageConsumer rest = s.createConsumer(q);
            // Message 4 may have been prefetched by the closed consumer; it comes back.
            eq(expected("a-", 4, 6), drain(rest, ABSENT_MS), "the rest, once");
        });

        t("clientAcknowledgeAcksEverythingConsumedSoFar", () -> {
            Connection c = connect();
            Session ps = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = ps.createQueue(name("client"));
            sendTexts(ps, q, "k-", 6);
            Connection c2 = connect();
            Session s = c2.createSession(false, Session.CLIENT_ACKNOWLEDGE);
            MessageConsumer consumer = s.createConsumer(q);
            must(consumer, "1");
            must(consumer, "2");
            Message third = must(consumer, "3");
            third.acknowledge();
            eq("k-4", mustText(consumer, "4"), "fourth");
            eq("k-5", mustText(consumer, "5"), "fifth");
            // 4 and 5 are not acknowledged: closing hands them back.
            c2.close();
            MessageConsumer rest = ps.createConsumer(q);
            Message m4 = must(rest, "redelivered 4");
            eq("k-4", ((TextMessage) m4).getText(), "4 again");
            eq(Boolean.TRUE, Boolean.valueOf(m4.getJMSRedelivered()), "JMSRedelivered on 4");
            eq("k-5", mustText(rest, "5 again"), "5 again");
            eq("k-6", mustText(rest, "6"), "6");
            none(rest, "nothing else");
        });

        t("dupsOkAcknowledgeConsumesAll", () -> {
            Connection c = connect();
            Session s = c.createSession(false, Session.DUPS_OK_ACKNOWLEDGE);
            Queue q = s.createQueue(name("dupsok"));
            sendTexts(s, q, "d-", 100);
            MessageConsumer consumer = s.createConsumer(q);
            eq(expected("d-", 1, 100), drain(consumer, ABSENT_MS), "received");
            c.close();
            Connection c2 = connect();
            MessageConsumer after = c2.createSession(false, Session.AUTO_ACKNOWLEDGE).createConsumer(q);
            none(after, "dups-ok acks reached the broker on close");
        });

        t("individualAcknowledgeAcksOnlyThatMessage", () -> {
            Connection c = connect();
            Session ps = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = ps.createQueue(name("individual"));
            sendTexts(ps, q, "i-", 5);
            Connection c2 = connect();
            Session s = c2.createSession(false, ActiveMQSession.INDIVIDUAL_ACKNOWLEDGE);
            MessageConsumer consumer = s.createConsumer(q);
            List<Message> got = new ArrayList<>();
            for (int i = 1; i <= 5; i++) {
                got.add(must(consumer, "message " + i));
            }
            got.get(1).acknowledge();
            got.get(3).acknowledge();
            c2.close();
            MessageConsumer rest = ps.createConsumer(q);
            eq(Arrays.asList("i-1", "i-3", "i-5"), drain(rest, ABSENT_MS), "unacknowledged come back");
        });

        t("transactedSendIsInvisibleUntilCommit", () -> {
            Connection c = connect();
            Session tx = c.createSession(true, Session.SESSION_TRANSACTED);
            Session plain = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = tx.createQueue(name("txsend"));
            MessageConsumer consumer = plain.createConsumer(q);
            MessageProducer p = tx.createProducer(q);
            p.send(tx.createTextMessage("rolled-back"));
            tx.rollback();
            for (int i = 1; i <= 3; i++) {
                p.send(tx.createTextMessage("tx-" + i));
            }
            none(consumer, "before commit");
            tx.commit();
            eq(expected("tx-", 1, 3), drain(consumer, ABSENT_MS), "after commit");
        });

        t("transactedReceiveRollbackRedeliversThenCommit", () -> {
            Connection c = connect();
            Session plain = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = plain.createQueue(name("txreceive"));
            sendTexts(plain, q, "r-", 3);
            Session tx = c.createSession(true, Session.SESSION_TRANSACTED);
            MessageConsumer consumer = tx.createConsumer(q);
            for (int i = 1; i <= 3; i++) {
                Message m = must(consumer, "first " + i);
                eq("r-" + i, ((TextMessage) m).getText(), "first pass");
                eq(Boolean.FALSE, Boolean.valueOf(m.getJMSRedelivered()), "first pass redelivered flag");
            }
            tx.rollback();
            for (int i = 1; i <= 3; i++) {
                Message m = must(consumer, "redelivery " + i);
                eq("r-" + i, ((TextMessage) m).getText(), "after rollback");
                eq(Boolean.TRUE, Boolean.valueOf(m.getJMSRedelivered()), "JMSRedelivered after rollback");
            }
            tx.commit();
            none(consumer, "after commit, same consumer");
            consumer.close();
            MessageConsumer other = plain.createConsumer(q);
            none(other, "after commit, new consumer");
        });

        t("sessionRecoverRedelivers", () -> {
            Connection c = connect();
            Session s = c.createSession(false, Session.CLIENT_ACKNOWLEDGE);
            Queue q = s.createQueue(name("recover"));
            sendTexts(s, q, "v-", 3);
            MessageConsumer consumer = s.createConsumer(q);
            eq("v-1", mustText(consumer, "1"), "1");
            eq("v-2", mustText(consumer, "2"), "2");
            s.recover();
            Message m1 = must(consumer, "1 again");
            eq("v-1", ((TextMessage) m1).getText(), "1 after recover");
            eq(Boolean.TRUE, Boolean.valueOf(m1.getJMSRedelivered()), "JMSRedelivered after recover");
            eq("v-2", mustText(consumer, "2 again"), "2 after recover");
            Message m3 = must(consumer, "3");
            eq("v-3", ((TextMessage) m3).getText(), "3");
            m3.acknowledge();
            none(consumer, "all acknowledged");
            consumer.close();
            none(s.createConsumer(q), "nothing left");
        });

        t("prefetchZeroReceiveReturnsInsteadOfHanging", () -> {
            Connection c = connect("jms.prefetchPolicy.all=0");
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(name("prefetch0"));
            MessageConsumer consumer = s.createConsumer(q);
            long t0 = System.nanoTime();
            check(consumer.receiveNoWait() == null, "receiveNoWait on an empty queue returned a message");
            check(consumer.receive(500) == null, "receive(500) on an empty queue returned a message");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            check(ms < 5000, "empty receives took " + ms + " ms");
            sendTexts(s, q, "z-", 3);
            eq("z-1", mustText(consumer, "1"), "receive(t)");
            Message m2 = null;
            for (int i = 0; i < 50 && m2 == null; i++) {
                m2 = consumer.receiveNoWait();
            }
            check(m2 != null, "receiveNoWait never returned the waiting message");
            eq("z-2", ((TextMessage) m2).getText(), "receiveNoWait");
            // A second prefetch-0 consumer on the same queue takes the next one.
            MessageConsumer second = c.createSession(false, Session.AUTO_ACKNOWLEDGE).createConsumer(q);
            eq("z-3", mustText(second, "second consumer"), "second consumer");
            check(consumer.receiveNoWait() == null, "queue should be empty");
            check(second.receive(300) == null, "queue should be empty (second)");
        });

        t("prefetchOneSharesAndReturnsOnClose", () -> {
            Connection c = connect("jms.prefetchPolicy.all=1");
            Session sa = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Session sb = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = sa.createQueue(name("prefetch1"));
            MessageConsumer a = sa.createConsumer(q);
            MessageConsumer b = sb.createConsumer(q);
            sendTexts(sa, q, "o-", 20);
            List<String> all = new ArrayList<>();
            all.add(mustText(a, "a takes one"));
            List<String> fromB = drain(b, ABSENT_MS);
            check(fromB.size() >= 17, "with prefetch 1, b should get nearly all; got " + fromB.size());
            a.close();
            List<String> afterClose = drain(b, ABSENT_MS);
            all.addAll(fromB);
            all.addAll(afterClose);
            List<String> sorted = new ArrayList<>(all);
            Collections.sort(sorted);
            List<String> want = expected("o-", 1, 20);
            Collections.sort(want);
            eq(want, sorted, "every message exactly once");
        });

        t("prefetchThousandKeepsOrderBeyondTheWindow", () -> {
            Connection c = connect("jms.prefetchPolicy.all=1000");
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(name("prefetch1000"));
            MessageProducer p = s.createProducer(q);
            p.setDeliveryMode(DeliveryMode.NON_PERSISTENT);
            for (int i = 1; i <= 2500; i++) {
                p.send(s.createTextMessage("p-" + i));
            }
            MessageConsumer consumer = s.createConsumer(q);
            eq(expected("p-", 1, 2500), drain(consumer, ABSENT_MS * 2), "2500 in order");
        });

        t("consumerCloseReturnsPrefetchedMessages", () -> {
            Connection c = connect();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(name("closeprefetch"));
            MessageConsumer a = s.createConsumer(q);
            sendTexts(s, q, "q-", 10);
            eq("q-1", mustText(a, "a takes the first"), "first");
            // The other nine sit in a's prefetch buffer (default prefetch 1000).
            Session s2 = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            a.close();
            MessageConsumer b = s2.createConsumer(q);
            eq(expected("q-", 2, 10), drain(b, ABSENT_MS * 2), "b gets the nine back, in order");
        });

        t("asyncSendWithProducerWindow", () -> {
            Connection c = connect("jms.useAsyncSend=true&jms.producerWindowSize=1024");
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(name("async"));
            MessageProducer p = s.createProducer(q);
            char[] pad = new char[500];
            Arrays.fill(pad, 'x');
            String padding = new String(pad);
            // 300 x ~0.5 KiB through a 1 KiB window: blocks forever unless the broker sends ProducerAcks.
            for (int i = 1; i <= 300; i++) {
                p.send(s.createTextMessage("w-" + i + "|" + padding));
            }
            MessageConsumer consumer = c.createSession(false, Session.AUTO_ACKNOWLEDGE).createConsumer(q);
            List<String> got = new ArrayList<>();
            for (String t : drain(consumer, ABSENT_MS * 2)) {
                got.add(t.substring(0, t.indexOf('|')));
            }
            eq(expected("w-", 1, 300), got, "async sends");
        });

        t("queueBrowserDoesNotConsume", () -> {
            Connection c = connect();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(name("browse"));
            MessageProducer p = s.createProducer(q);
            for (int i = 1; i <= 5; i++) {
                TextMessage m = s.createTextMessage("b-" + i);
                m.setIntProperty("n", i);
                p.send(m);
            }
            for (int round = 1; round <= 2; round++) {
                QueueBrowser browser = s.createBrowser(q);
                List<String> seen = new ArrayList<>();
                for (Enumeration<?> e = browser.getEnumeration(); e.hasMoreElements();) {
                    seen.add(((TextMessage) e.nextElement()).getText());
                }
                browser.close();
                eq(expected("b-", 1, 5), seen, "browse round " + round);
            }
            QueueBrowser selective = s.createBrowser(q, "n > 3");
            List<String> seen = new ArrayList<>();
            for (Enumeration<?> e = selective.getEnumeration(); e.hasMoreElements();) {
                seen.add(((TextMessage) e.nextElement()).getText());
            }
            selective.close();
            eq(Arrays.asList("b-4", "b-5"), seen, "browse with selector");
            MessageConsumer consumer = s.createConsumer(q);
            eq(expected("b-", 1, 5), drain(consumer, ABSENT_MS), "consumer after browsing");
        });

        t("poisonMessageReachesDlqAfterMaximumRedeliveries", () -> {
            String marker = "poison-" + RUN;
            ActiveMQConnectionFactory f = factory(null);
            RedeliveryPolicy policy = new RedeliveryPolicy();
            policy.setMaximumRedeliveries(1);
            policy.setInitialRedeliveryDelay(0);
            policy.setRedeliveryDelay(0);
            policy.setUseExponentialBackOff(false);
            f.setRedeliveryPolicy(policy);
            Connection c = connect(f);
            Session plain = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = plain.createQueue(name("poison"));
            TextMessage poison = plain.createTextMessage("poison body");
            poison.setStringProperty("poisonMarker", marker);
            plain.createProducer(q).send(poison);
            Session tx = c.createSession(true, Session.SESSION_TRANSACTED);
            MessageConsumer consumer = tx.createConsumer(q);
            // original delivery + maximumRedeliveries (1) redelivery, each rolled back
            for (int attempt = 1; attempt <= 2; attempt++) {
                Message m = must(consumer, "delivery " + attempt);
                eq("poison body", ((TextMessage) m).getText(), "delivery " + attempt);
                tx.rollback();
            }
            none(consumer, "poison is no longer on its queue");
            consumer.close();
            none(plain.createConsumer(q), "poison is no longer on its queue (new consumer)");
            MessageConsumer dlq = plain.createConsumer(plain.createQueue("ActiveMQ.DLQ"),
                    "poisonMarker = '" + marker + "'");
            Message dead = must(dlq, "ActiveMQ.DLQ");
            eq("poison body", ((TextMessage) dead).getText(), "DLQ body");
            eq(marker, dead.getStringProperty("poisonMarker"), "DLQ marker");
            none(dlq, "exactly one on the DLQ");
        });

        t("usernameAndPasswordArePassed", () -> {
            Connection c = factory(null).createConnection("jmssuite-user", "jmssuite-secret");
            OPEN.add(c);
            c.start();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(name("auth"));
            sendTexts(s, q, "u-", 2);
            eq(expected("u-", 1, 2), drain(s.createConsumer(q), ABSENT_MS), "with credentials");
        });

        t("xaWorksOrIsRefusedCleanly", () -> {
            ActiveMQXAConnectionFactory f = new ActiveMQXAConnectionFactory(url(null));
            XAConnection xc;
            XASession xs;
            XAResource xr;
            Xid xid = new TestXid("jmssuite-" + RUN);
            String qn = name("xa");
            try {
                xc = f.createXAConnection();
                OPEN.add(xc);
                xc.start();
                xs = xc.createXASession();
                xr = xs.getXAResource();
                MessageProducer p = xs.getSession().createProducer(xs.getSession().createQueue(qn));
                xr.start(xid, XAResource.TMNOFLAGS);
                p.send(xs.getSession().createTextMessage("xa-1"));
                xr.end(xid, XAResource.TMSUCCESS);
                int vote = xr.prepare(xid);
                if (vote == XAResource.XA_OK) {
                    xr.commit(xid, false);
                }
            } catch (JMSException | XAException refused) {
                System.out.println("  (xa refused cleanly: " + refused + ")");
                return;
            }
            Connection c = connect();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            eq(Arrays.asList("xa-1"), drain(s.createConsumer(s.createQueue(qn)), ABSENT_MS),
                    "XA commit delivered the message once");
        });

        t("multipleSessionsAndConnectionMetadata", () -> {
            Connection c = connect();
            eq("1.1", c.getMetaData().getJMSVersion(), "JMS version");
            check(c instanceof ActiveMQConnection, "ActiveMQConnection");
            Session s1 = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Session s2 = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Session s3 = c.createSession(true, Session.SESSION_TRANSACTED);
            Queue q = s1.createQueue(name("sessions"));
            MessageConsumer consumer = s2.createConsumer(q);
            s1.createProducer(q).send(s1.createTextMessage("from-s1"));
            s3.createProducer(q).send(s3.createTextMessage("from-s3"));
            s3.commit();
            Set<String> got = new HashSet<>(drain(consumer, ABSENT_MS));
            eq(new HashSet<>(Arrays.asList("from-s1", "from-s3")), got, "messages from two sessions");
            s1.close();
            s3.close();
            s2.close();
        });
    }
}
