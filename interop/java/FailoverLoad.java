import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

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
 * Continuous load over a failover: URL while the test kills brokers (cluster suite).
 *
 * usage:
 *   java FailoverLoad produce URL QUEUE NAME STOP_FILE
 *       sends persistent TextMessages "NAME-1", "NAME-2", ... synchronously and prints
 *       "SENT NAME-i" once send() returned for each; stops when STOP_FILE exists and prints
 *       "ACKED n" (every send 1..n returned), then "DONE".
 *   java FailoverLoad consume URL QUEUE STOP_FILE
 *       receives (AUTO_ACKNOWLEDGE) and prints "RECV text" per message; once STOP_FILE exists
 *       it goes on until 3 s pass without a message, then prints "DONE".
 */
public class FailoverLoad {

    public static void main(String[] args) throws Exception {
        boolean produce = args.length == 5 && args[0].equals("produce");
        boolean consume = args.length == 4 && args[0].equals("consume");
        if (!produce && !consume) {
            System.err.println("usage: FailoverLoad produce URL QUEUE NAME STOP_FILE | consume URL QUEUE STOP_FILE");
            System.exit(2);
        }
        Path stop = Paths.get(args[args.length - 1]);
        ActiveMQConnectionFactory factory = new ActiveMQConnectionFactory(args[1]);
        Connection connection = factory.createConnection();
        connection.start();
        Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
        Queue queue = session.createQueue(args[2]);
        if (produce) {
            String name = args[3];
            MessageProducer producer = session.createProducer(queue);
            producer.setDeliveryMode(DeliveryMode.PERSISTENT);
            long n = 0;
            while (!Files.exists(stop)) {
                producer.send(session.createTextMessage(name + "-" + (n + 1)));
                n++;
                System.out.println("SENT " + name + "-" + n);
                System.out.flush();
            }
            System.out.println("ACKED " + n);
        } else {
            MessageConsumer consumer = session.createConsumer(queue);
            long quietSince = -1;
            while (true) {
                Message m = consumer.receive(200);
                long now = System.currentTimeMillis();
                if (m != null) {
                    System.out.println("RECV " + ((TextMessage) m).getText());
                    System.out.flush();
                    quietSince = now;
                    continue;
                }
                if (!Files.exists(stop)) {
                    quietSince = now;
                } else if (now - quietSince >= 3000) {
                    break;
                }
            }
        }
        System.out.println("DONE");
        System.out.flush();
        connection.close();
        System.exit(0);
    }
}
