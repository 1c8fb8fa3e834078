import java.util.LinkedHashMap;
import java.util.Map;

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
 * Load for failover-replay tests: one client whose connection the test cuts underneath it.
 *
 * usage:
 *   java FailoverClient produce URL QUEUE COUNT PACE_MS
 *       sends COUNT persistent TextMessages "msg-1".."msg-COUNT"; prints "SENT i" as soon as
 *       send() returned for message i, then "DONE".
 *   java FailoverClient consume URL QUEUE EXPECT DEADLINE_MS
 *       receives (AUTO_ACKNOWLEDGE) and prints "RECV text redelivered=BOOL" per message; once
 *       EXPECT distinct texts arrived it keeps listening 2 s for duplicates, then prints "DONE";
 *       gives up at DEADLINE_MS (prints "DEADLINE") and exits 0 either way (the test counts).
 */
public class FailoverClient {

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: FailoverClient produce|consume URL QUEUE COUNT PACE_MS|DEADLINE_MS");
            System.exit(2);
        }
        String mode = args[0];
        ActiveMQConnectionFactory factory = new ActiveMQConnectionFactory(args[1]);
        Connection connection = factory.createConnection();
        connection.start();
        Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
        Queue queue = session.createQueue(args[2]);
        int count = Integer.parseInt(args[3]);
        long param = Long.parseLong(args[4]);
        if (mode.equals("produce")) {
            MessageProducer producer = session.createProducer(queue);
            producer.setDeliveryMode(DeliveryMode.PERSISTENT);
            for (int i = 1; i <= count; i++) {
                producer.send(session.createTextMessage("msg-" + i));
                System.out.println("SENT " + i);
                System.out.flush();
                if (param > 0) {
                    Thread.sleep(param);
                }
            }
            producer.close();
        } else if (mode.equals("consume")) {
            MessageConsumer consumer = session.createConsumer(queue);
            System.out.println("READY");
            System.out.flush();
            long deadline = System.currentTimeMillis() + param;
            long quietUntil = Long.MAX_VALUE;
            Map<String, Integer> seen = new LinkedHashMap<>();
            while (true) {
                long now = System.currentTimeMillis();
                if (now >= deadline) {
                    System.out.println("DEADLINE");
                    break;
                }
                if (now >= quietUntil) {
                    break;
                }
                Message m = consumer.receive(200);
                if (m == null) {
                    continue;
                }
                String text = ((TextMessage) m).getText();
                System.out.println("RECV " + text + " redelivered=" + m.getJMSRedelivered());
                System.out.flush();
                seen.merge(text, 1, Integer::sum);
                if (seen.size() >= count && quietUntil == Long.MAX_VALUE) {
                    quietUntil = System.currentTimeMillis() + 2000;
                }
            }
            consumer.close();
        } else {
            System.err.println("unknown mode " + mode);
            System.exit(2);
        }
        session.close();
        connection.close();
        System.out.println("DONE");
        System.out.flush();
        System.exit(0);
    }
}
