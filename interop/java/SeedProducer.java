import javax.jms.Connection;
import javax.jms.ConnectionFactory;
import javax.jms.Destination;
import javax.jms.JMSException;
import javax.jms.MessageProducer;
import javax.jms.Session;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * The seed's producer, unchanged but for the broker URL, which comes from args[0]
 * (e.g. failover:(tcp://127.0.0.1:61616)?randomize=false).
 */
public class SeedProducer {

    public static void main(String[] args) throws JMSException {
        String url = args.length > 0 ? args[0] : "failover:(tcp://127.0.0.1:61616)?randomize=false";
        ConnectionFactory connectionFactory = new ActiveMQConnectionFactory(url);
        Connection connection = connectionFactory.createConnection();
        connection.start();
        System.out.println("connection started: " + url);
        Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
        Destination destination = session.createQueue("cluster-queue-01");
        MessageProducer producer = session.createProducer(destination);
        for (int i = 1; i <= 5; i++) {
            TextMessage message = session.createTextMessage("cluster-queue-msg-" + i);
            producer.send(message);
            System.out.println("sent: " + message.getText());
        }
        producer.close();
        session.close();
        connection.close();
        System.out.println("publishing succeeded");
    }
}
