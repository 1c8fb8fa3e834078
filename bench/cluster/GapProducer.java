import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.time.Instant;
import java.util.BitSet;

import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.Queue;
import javax.jms.Session;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * Failover-gap benchmark client (bench/failover/run.py), plain JMS over the failover: URL.
 *
 * usage:
 *   java GapProducer produce URL QUEUE PACE_MS
 *       sends persistent TextMessages "1", "2", ... synchronously, PACE_MS apart, until a line
 *       arrives on stdin. Whenever two consecutive acknowledged sends are more than 20 ms
 *       apart it prints "GAP prev_us next_us seq" (wall clock, microseconds since the epoch:
 *       the send acknowledged before the gap and the first one after it). At the end it
 *       prints "ACKED n" (every send 1..n returned).
 *   java GapProducer drain URL QUEUE ACKED
 *       receives until 5 s pass without a message and prints
 *       "DRAIN received=R distinct=D duplicates=X lost=L extra=E" against 1..ACKED.
 */
public class GapProducer {

    static long micros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: GapProducer produce URL QUEUE PACE_MS | drain URL QUEUE ACKED");
            System.exit(2);
        }
        ActiveMQConnectionFactory factory = new ActiveMQConnectionFactory(args[1]);
        Connection connection = factory.createConnection();
        connection.start();
        Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
        Queue queue = session.createQueue(args[2]);
        if (args[0].equals("produce")) {
            long pace = Long.parseLong(args[3]);
            final boolean[] stop = {false};
            Thread stdin = new Thread(() -> {
                try {
                    new BufferedReader(new InputStreamReader(System.in)).readLine();
                } catch (Exception e) {
                    // stdin closed: stop as well
                }
                synchronized (stop) {
                    stop[0] = true;
                }
            });
            stdin.setDaemon(true);
            stdin.start();
            MessageProducer producer = session.createProducer(queue);
            producer.setDeliveryMode(DeliveryMode.PERSISTENT);
            long last = micros();
            long seq = 0;
            while (true) {
                synchronized (stop) {
                    if (stop[0]) {
                        break;
                    }
                }
                producer.send(session.createTextMessage(Long.toString(seq + 1)));
                seq++;
                long now = micros();
                if (now - last > 20_000) {
                    System.out.println("GAP " + last + " " + now + " " + seq);
                    System.out.flush();
                }
                last = now;
                if (pace > 0) {
                    Thread.sleep(pace);
                    last = micros();
                }
            }
            System.out.println("ACKED " + seq);
        } else {
            int acked = Integer.parseInt(args[3]);
            MessageConsumer consumer = session.createConsumer(queue);
            BitSet seen = new BitSet(acked + 1);
            long received = 0, duplicates = 0, extra = 0;
            while (true) {
                Message m = consumer.receive(5000);
                if (m == null) {
                    break;
                }
                received++;
                long n = Long.parseLong(((TextMessage) m).getText());
                if (n < 1 || n > acked) {
                    extra++;
                } else if (seen.get((int) n)) {
                    duplicates++;
                } else {
                    seen.set((int) n);
                }
            }
            int distinct = seen.cardinality();
            System.out.println("DRAIN received=" + received + " distinct=" + distinct + " duplicates="
                    + duplicates + " lost=" + (acked - distinct) + " extra=" + extra);
        }
        System.out.flush();
        connection.close();
        System.exit(0);
    }
}
