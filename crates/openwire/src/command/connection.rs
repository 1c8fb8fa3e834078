//! Connection-level commands (notes §3.3): BrokerInfo, ConnectionInfo, ConnectionControl,
//! ConnectionError, ControlCommand, FlushCommand, KeepAliveInfo, ShutdownInfo, RemoveInfo.
//! They are grouped because each is a plain field list mirroring one notes table.

use bytes::Bytes;

use crate::data_structure::DataStructure;
use crate::ids::{BrokerId, ConnectionId};
use crate::throwable::Throwable;
use crate::wire_field::{nested_single, wire_struct};

wire_struct! {
    /// `BrokerInfo` (2), B→C.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct BrokerInfo {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// Unique broker id.
        pub broker_id: Option<BrokerId>,
        /// URL the broker is reachable at.
        pub broker_url: Option<String>,
        /// Cluster peers (null unless cluster updates are on).
        pub peer_broker_infos: Option<Vec<BrokerInfo>>,
        /// Broker name.
        pub broker_name: Option<String>,
        /// Slave.
        pub slave_broker: bool,
        /// Master.
        pub master_broker: bool,
        /// Disables optimized acks on the client.
        pub fault_tolerant_configuration: bool,
        /// Network bridge.
        pub duplex_connection: bool,
        /// Network bridge.
        pub network_connection: bool,
        /// Connection number.
        pub connection_id: i64,
        /// Blob upload URL.
        pub broker_upload_url: Option<String>,
        /// Network properties.
        pub network_properties: Option<String>,
    }
}
nested_single!(BrokerInfo, 2);

wire_struct! {
    /// `ConnectionInfo` (3), C→B; always responseRequired.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct ConnectionInfo {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// The connection.
        pub connection_id: Option<ConnectionId>,
        /// JMS client id (generated unless set by the app).
        pub client_id: Option<String>,
        /// Plain-text password.
        pub password: Option<String>,
        /// User name.
        pub user_name: Option<String>,
        /// Network path.
        pub broker_path: Option<Vec<BrokerId>>,
        /// Network.
        pub broker_master_connector: bool,
        /// Wants ConnectionControl.
        pub manageable: bool,
        /// Client master.
        pub client_master: bool,
        /// `failover:` URI.
        pub fault_tolerant: bool,
        /// A failover replay.
        pub failover_reconnect: bool,
        /// Client IP (null from clients).
        pub client_ip: Option<String>,
    }
}

wire_struct! {
    /// `ConnectionControl` (18), both directions.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct ConnectionControl {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// Ignored by the 5.17 client.
        pub close: bool,
        /// Ignored by the 5.17 client.
        pub exit: bool,
        /// Disables optimizeAcknowledge on the client.
        pub fault_tolerant: bool,
        /// Ignored by the 5.17 client.
        pub resume: bool,
        /// Ignored by the 5.17 client.
        pub suspend: bool,
        /// Comma-separated broker URIs merged into a failover client's list.
        pub connected_brokers: Option<String>,
        /// Non-empty: a failover client reconnects there.
        pub reconnect_to: Option<String>,
        /// Rebalance.
        pub rebalance_connection: bool,
        /// Ignored by the 5.17 client.
        pub token: Option<Bytes>,
    }
}

wire_struct! {
    /// `ConnectionError` (16), B→C: delivered to the connection's ExceptionListener.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct ConnectionError {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// The error.
        pub exception: Option<Throwable>,
        /// The connection.
        pub connection_id: Option<ConnectionId>,
    }
}

wire_struct! {
    /// `ControlCommand` (14); ignored by the 5.17 client.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct ControlCommand {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// The control string.
        pub command: Option<String>,
    }
}

wire_struct! {
    /// `FlushCommand` (15); unused by JMS clients.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct FlushCommand {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
    }
}

wire_struct! {
    /// `KeepAliveInfo` (10), both directions. Answer one with responseRequired by a
    /// KeepAliveInfo without it (not a Response).
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct KeepAliveInfo {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
    }
}

wire_struct! {
    /// `ShutdownInfo` (11), C→B, oneway, just before the client closes the socket.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct ShutdownInfo {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
    }
}

wire_struct! {
    /// `RemoveInfo` (12), C→B: `object_id` is a ConnectionId, SessionId, ConsumerId or ProducerId.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct RemoveInfo {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// What is removed.
        pub object_id: Option<DataStructure>,
        /// Last brokerSequenceId handed to the app; -1 unset, -2 unknown.
        pub last_delivered_sequence_id: i64,
    }
}
