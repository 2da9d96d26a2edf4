// One factory per Kafka API; registry.cc lists them in handlers().
#pragma once

#include "common/result.h"
#include "kafka/protocol.h"

namespace eddy::kafka {

Handler make_api_versions_handler();
Handler make_metadata_handler();
Handler make_produce_handler();
Handler make_fetch_handler();
Handler make_list_offsets_handler();
Handler make_init_producer_id_handler();
// Consumer groups and committed offsets (groups::GroupCoordinator).
Handler make_find_coordinator_handler();
Handler make_join_group_handler();
Handler make_sync_group_handler();
Handler make_heartbeat_handler();
Handler make_leave_group_handler();
Handler make_offset_commit_handler();
Handler make_offset_fetch_handler();
Handler make_offset_delete_handler();
Handler make_list_groups_handler();
Handler make_describe_groups_handler();
Handler make_delete_groups_handler();
// Admin APIs.
Handler make_create_topics_handler();
Handler make_delete_topics_handler();
Handler make_delete_records_handler();
Handler make_create_partitions_handler();
Handler make_describe_configs_handler();
Handler make_alter_configs_handler();
Handler make_incremental_alter_configs_handler();
Handler make_describe_cluster_handler();

// Maps a storage error to the Kafka error code a client expects for it.
KafkaError to_kafka_error(const eddy::Error& error);

}  // namespace eddy::kafka
